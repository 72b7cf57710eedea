"""Prepaid-fee escrow (预收费资金监管): institution API keys, monthly statements, the double-entry ledger
and its reconciliation against history, the bank and the reserve requirement."""

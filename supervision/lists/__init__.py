"""The public lists (白名单、警示名单、黑名单): derivation, editions, hashing and exports."""

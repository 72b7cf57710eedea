"""Complaints (举报) and the bureau's decisions (处理决定), which the lists are derived from."""

"""Complaints (举报) and the bureau's decisions (处理决定); the case workflow of a later issue joins them."""

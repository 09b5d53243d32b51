"""Exporters: turn a Plan into bytes (ICS feeds) or terminal renderables."""

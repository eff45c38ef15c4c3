"""Printouts: plain-text renderers (what a bare REPL shows) and rich renderables."""

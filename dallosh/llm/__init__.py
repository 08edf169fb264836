"""LLM providers behind one interface (DESIGN.md §6). The built-in analyzer is just another provider."""

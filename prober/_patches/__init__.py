"""Patches of the libraries' private APIs, one module per patch; PROBER_NO_PATCHES=1 switches them all off."""

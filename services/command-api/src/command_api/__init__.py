"""The command API: HTTP commands become events on the log; queries read the projections."""

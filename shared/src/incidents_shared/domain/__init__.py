"""The pure incident domain: events, commands, the decide/evolve fold, priority matrix and SLA arithmetic.

Nothing in this package performs I/O, reads a clock or draws random numbers.
"""

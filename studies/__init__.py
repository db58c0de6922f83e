"""studies: simulation studies and calibrations, apart from the library users call.

Each module answers a question about desist's own statistics by simulating
many synthetic evaluations or worlds: how often a payment rule pays, whether
confidence intervals cover, how often a screen cries wolf. ``bench/`` scripts
and the tests run them; no library module imports this package, and it may
import any of them (it sits above ``validation``).
"""

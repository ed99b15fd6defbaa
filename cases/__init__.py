"""Cases: a complaint's facts over time, its decisions and open deadlines, and its personal data
kept encrypted outside the ledger.
"""

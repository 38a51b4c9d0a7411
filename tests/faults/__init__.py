"""The randomized fault campaign: a seeded client stream against the whole system on private servers
while a seeded schedule of faults runs, then a check of every invariant of the contract."""

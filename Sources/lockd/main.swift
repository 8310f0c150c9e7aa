print("lockd: not yet")

print("lockbench: not yet")

"""Everything about what subscribers already have: the lock, reconciling, feeds, writing.

One workflow (`chancal.publish.workflow`) takes a program file and its lock
to the pinned plan, reconciles it with what was published, and writes the
feeds and the lock all or nothing. Every command that shows or publishes the
year goes through it, so they all see the same published year.
"""

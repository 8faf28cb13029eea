"""The run state machine and its orchestration (DESIGN.md §3, §9)."""

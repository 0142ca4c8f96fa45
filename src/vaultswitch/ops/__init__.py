"""Operations against a running orchestrator: `demo` now; `doctor`, `import`, `migrate` later."""

"""Operations the CLI calls: one function per command, no click, no printing."""

//! Live `doctor`: judges the configuration read from both accounts (pure).

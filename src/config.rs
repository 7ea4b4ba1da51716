//! User configuration (tables, index location, theme, models).

//! One audit run, in order: sources → facts → evaluation → waivers → report.

pub mod select;

//! The data plane: SQL text built safely. (Token-authenticated sessions arrive with issue 4.)

pub mod quote;

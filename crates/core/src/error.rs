//! What a failure means to whoever drives the provider, whatever protocol it speaks: each
//! layer's error says which class it is in, and each adapter maps a class to its wire once
//! (a gRPC code for Pulumi, a diagnostic for Terraform).

/// The classes a caller acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Throttled, service unavailable, no answer, a lock conflict: trying later may work.
    Unavailable,
    /// The request was wrong: bad input, a malformed ID, a 400 from Azure.
    InvalidArgument,
    /// The resource (or its parent) does not exist.
    NotFound,
    /// It exists already and was not created by this operation (import it instead).
    AlreadyExists,
    /// Refused in this state: conflicts, permissions, quota, a failed operation, sign-in.
    FailedPrecondition,
    /// The operation's own deadline ran out before it could finish; nothing was committed.
    DeadlineExceeded,
    /// The write may or may not have happened (accepted then lost, or timed out mid-write).
    Unknown,
}

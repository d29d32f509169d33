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
    /// The caller cancelled the operation (Pulumi's Cancel, Terraform's StopProvider) before
    /// it finished; what was accepted before that goes on where it runs.
    Cancelled,
    /// The write may or may not have happened (accepted then lost, or timed out mid-write).
    Unknown,
}

impl ErrorClass {
    /// Every class, so each adapter's mapping is tested over all of them.
    pub const ALL: [ErrorClass; 8] = [
        ErrorClass::Unavailable,
        ErrorClass::InvalidArgument,
        ErrorClass::NotFound,
        ErrorClass::AlreadyExists,
        ErrorClass::FailedPrecondition,
        ErrorClass::DeadlineExceeded,
        ErrorClass::Cancelled,
        ErrorClass::Unknown,
    ];
}

#[cfg(test)]
mod tests {
    use super::ErrorClass;

    #[test]
    fn all_lists_every_class_once() {
        // The match fails to compile when a class is added without being listed in ALL.
        let index = |class: ErrorClass| match class {
            ErrorClass::Unavailable => 0,
            ErrorClass::InvalidArgument => 1,
            ErrorClass::NotFound => 2,
            ErrorClass::AlreadyExists => 3,
            ErrorClass::FailedPrecondition => 4,
            ErrorClass::DeadlineExceeded => 5,
            ErrorClass::Cancelled => 6,
            ErrorClass::Unknown => 7,
        };
        let mut seen = [false; ErrorClass::ALL.len()];
        for class in ErrorClass::ALL {
            assert!(
                !std::mem::replace(&mut seen[index(class)], true),
                "{class:?} twice"
            );
        }
        assert!(seen.iter().all(|&s| s));
    }
}

//! The upload state machine:
//! `pending → complete → validating → validated → imported`, or `failed` from any
//! non-terminal state. Pure: the stores apply a transition only if the row still holds the
//! state it was computed from (compare-and-set), so two actors can never both move it.

use intake_api::Status;

/// Something that happens to an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// All bytes are in place (multipart `complete`, or an import finished downloading).
    BytesInPlace,
    /// The pipeline started checking the content.
    ValidationStarted,
    /// The content passed validation.
    ValidationPassed,
    /// The asset or model exists.
    EntityCreated,
    /// Anything went wrong for good (bad content, expiry, unrecoverable error).
    Failed,
}

/// A transition that the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an upload that is {from} cannot take the event {event:?}")]
pub struct IllegalTransition {
    pub from: Status,
    pub event: Event,
}

/// The status after `event` happens to an upload in `from`.
pub fn transition(from: Status, event: Event) -> Result<Status, IllegalTransition> {
    use Status::*;
    let to = match (from, event) {
        (Pending, Event::BytesInPlace) => Complete,
        (Complete, Event::ValidationStarted) => Validating,
        (Validating, Event::ValidationPassed) => Validated,
        (Validated, Event::EntityCreated) => Imported,
        (Pending | Complete | Validating | Validated, Event::Failed) => Failed,
        _ => return Err(IllegalTransition { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    const EVENTS: [Event; 5] =
        [Event::BytesInPlace, Event::ValidationStarted, Event::ValidationPassed, Event::EntityCreated, Event::Failed];

    #[test]
    fn happy_path_walks_the_documented_lifecycle() {
        let mut s = Pending;
        let mut seen = vec![s];
        for e in [Event::BytesInPlace, Event::ValidationStarted, Event::ValidationPassed, Event::EntityCreated] {
            s = transition(s, e).unwrap();
            seen.push(s);
        }
        assert_eq!(seen, vec![Pending, Complete, Validating, Validated, Imported]);
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for from in [Imported, Failed] {
            for e in EVENTS {
                assert_eq!(transition(from, e), Err(IllegalTransition { from, event: e }));
            }
        }
    }

    #[test]
    fn any_live_state_can_fail() {
        for from in [Pending, Complete, Validating, Validated] {
            assert_eq!(transition(from, Event::Failed), Ok(Failed));
        }
    }

    #[test]
    fn no_step_can_be_skipped_or_repeated() {
        let allowed = [
            (Pending, Event::BytesInPlace),
            (Complete, Event::ValidationStarted),
            (Validating, Event::ValidationPassed),
            (Validated, Event::EntityCreated),
        ];
        for from in Status::ALL {
            for e in EVENTS {
                let ok = transition(*from, e).is_ok();
                let expected = e == Event::Failed && !from.is_terminal() || allowed.contains(&(*from, e));
                assert_eq!(ok, expected, "{from:?} + {e:?}");
            }
        }
    }
}

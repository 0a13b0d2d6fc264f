//! Properties of the customer account over generated histories (issue: the
//! aggregate's money rules hold for any valid sequence of commands).

use credence_testkit::invariants;
use credence_testkit::plan::PlanConfig;
use credence_testkit::strategy;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// debt = delivered value − allocated payments; no receivable goes
    /// negative; allocation conserves money.
    #[test]
    fn money_is_conserved(history in strategy::history(PlanConfig::default())) {
        invariants::money_is_conserved(&history).map_err(TestCaseError::fail)?;
    }

    /// Commands are pure: replaying them records the same events.
    #[test]
    fn decide_is_deterministic(history in strategy::history(PlanConfig::default())) {
        invariants::replay_reproduces_events(&history).map_err(TestCaseError::fail)?;
    }

    /// Every generated event survives the JSON codec.
    #[test]
    fn events_round_trip_through_json(history in strategy::history(PlanConfig::default())) {
        invariants::json_round_trip(&history).map_err(TestCaseError::fail)?;
    }

    /// Resuming from any prefix state gives the state of a full fold.
    #[test]
    fn snapshot_plus_tail_equals_full_replay(history in strategy::history(PlanConfig::default())) {
        invariants::snapshot_plus_tail_equals_full_replay(&history).map_err(TestCaseError::fail)?;
    }
}

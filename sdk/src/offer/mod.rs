//! Offer evaluation: which offer an instance goes to, what to reserve, create and
//! launch there, and why nothing fits when nothing does.
//!
//! [`Evaluator`] is pure (no I/O) and works on a batch of offers: new placements reserve
//! fresh resources under the placement rules; relaunches in place take exactly the
//! resources carrying the task's `resource_id` labels. [`operations`] turns the result
//! into Mesos operations; [`resize`] builds the relaunch in place of an instance under a
//! new configuration.

pub mod address;
mod evaluate;
pub mod operations;
mod placement;
pub mod resize;
mod view;

pub use address::TaskAddress;
pub use evaluate::{
    Evaluator, Fit, Mismatch, Need, NewFit, Placement, Rejections, Requirement, Unplaced,
};
pub use operations::{Launch, LaunchContext};
pub use placement::{MatchCache, Peers};
pub use view::{Location, OfferView, is_service_reservation, orphans};

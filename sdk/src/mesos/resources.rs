//! The reservation labels that tie Mesos resources to a service, a framework and one
//! resource of one pod instance, on top of the shared resource arithmetic of
//! [`stead_proto::resources`] and [`stead_proto::ranges`] (re-exported here).

pub use stead_proto::ranges::{RangeSet, ranges_from_values};
pub use stead_proto::resources::*;
use stead_proto::v1::{Labels, Resource};

/// Label key carrying the unique id of one reserved resource (or volume).
pub const RESOURCE_ID: &str = "resource_id";
/// Label key carrying the id of the framework that made the reservation.
pub const FRAMEWORK_ID: &str = "framework_id";
/// Label key carrying the name of the service that made the reservation.
pub const SERVICE_NAME: &str = "service_name";

/// The labels identifying a reservation of this service: resource id, framework id, service name.
pub fn reservation_labels(resource_id: &str, framework_id: &str, service: &str) -> Labels {
    labels([
        (RESOURCE_ID, resource_id),
        (FRAMEWORK_ID, framework_id),
        (SERVICE_NAME, service),
    ])
}

/// The `resource_id` label of the innermost reservation, if any.
#[inline]
pub fn resource_id(r: &Resource) -> Option<&str> {
    label(reservation(r)?.labels.as_ref(), RESOURCE_ID)
}

/// The `service_name` label of the innermost reservation, if any.
#[inline]
pub fn service_of(r: &Resource) -> Option<&str> {
    label(reservation(r)?.labels.as_ref(), SERVICE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_labels_are_read_back() {
        let mut r = scalar(names::CPUS, 1.0);
        assert_eq!(resource_id(&r), None);
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "svc-principal",
            reservation_labels("rid-1", "fw-1", "svc"),
        ));
        assert_eq!(resource_id(&r), Some("rid-1"));
        assert_eq!(service_of(&r), Some("svc"));
        assert_eq!(
            label(
                reservation(&r).and_then(|ri| ri.labels.as_ref()),
                FRAMEWORK_ID
            ),
            Some("fw-1")
        );
    }
}

//! CloudWatch Embedded Metric Format: a JSON line on stdout that CloudWatch
//! turns into metrics, namespace `portguard`, dimension `service`.

use std::time::{SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "portguard";

/// Builds the EMF line for one count metric.
pub fn emf_line(service: &str, metric: &str, value: u64) -> String {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["service"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}]
            }]
        },
        "service": service,
        metric: value
    })
    .to_string()
}

pub fn count(service: &str, metric: &str) {
    println!("{}", emf_line(service, metric, 1));
}

/// The EMF line for one count metric per carrier: dimensions `service` and
/// `CarrierId` (an authenticated carrier id, clipped like any echo), so an
/// alarm can watch each carrier on its own.
pub fn emf_line_for_carrier(service: &str, metric: &str, carrier: &str) -> String {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["service", "CarrierId"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}]
            }]
        },
        "service": service,
        "CarrierId": crate::echo(carrier),
        metric: 1
    })
    .to_string()
}

/// Counts `metric` once for `carrier` (see [`emf_line_for_carrier`]).
pub fn count_for_carrier(service: &str, metric: &str, carrier: &str) {
    println!("{}", emf_line_for_carrier(service, metric, carrier));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_per_carrier_metric_has_the_carrier_dimension() {
        let line = emf_line_for_carrier("submit-port-out", "AccountNotFound", "carrier-a");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "portguard");
        assert_eq!(
            m["Dimensions"],
            serde_json::json!([["service", "CarrierId"]])
        );
        assert_eq!(m["Metrics"][0]["Name"], "AccountNotFound");
        assert_eq!(v["CarrierId"], "carrier-a");
        assert_eq!(v["AccountNotFound"], 1);
        let long = emf_line_for_carrier("s", "M", &"c".repeat(300));
        let v: serde_json::Value = serde_json::from_str(&long).unwrap();
        assert_eq!(v["CarrierId"].as_str().unwrap().len(), 64);
    }
}

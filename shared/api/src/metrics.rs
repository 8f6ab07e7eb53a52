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

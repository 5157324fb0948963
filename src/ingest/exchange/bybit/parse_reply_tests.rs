//! Replies (acks, refusals, pongs) and skipped topics, on the fixtures and on the examples of
//! Bybit's "Connect" page (`docs/v5/websocket/wss-authentication.mdx`).

use super::*;

#[test]
fn replies_are_acks_refusals_and_heartbeats() {
    assert_eq!(frame_of(&text("ws_subscription_ack")), Frame::Ack);
    assert_eq!(
        frame_of(&text("ws_subscription_failure")),
        Frame::Refused("Invalid topic: invalid.topic.BTCUSDT".into())
    );
    // The pongs and the spot ack of docs/v5/websocket/wss-authentication.mdx.
    for pong in [
        r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}"#,
        r#"{"success":true,"ret_msg":"pong","conn_id":"465772b1","req_id":"","op":"ping"}"#,
        r#"{"args":["1672916271846"],"op":"pong"}"#,
    ] {
        assert_eq!(frame_of(pong), Frame::Heartbeat, "{pong}");
    }
    let spot_ack = r#"{"success":true,"ret_msg":"subscribe","conn_id":"2324d924","req_id":"10001","op":"subscribe"}"#;
    assert_eq!(frame_of(spot_ack), Frame::Ack);
    let silent = r#"{"success":false,"ret_msg":"","op":"subscribe"}"#;
    assert!(matches!(frame_of(silent), Frame::Refused(r) if r.contains("\"success\":false")));
    let long = edited("ws_subscription_failure", |v| {
        v["ret_msg"] = json!("x".repeat(999))
    });
    assert_eq!(frame_of(&long), Frame::Refused("x".repeat(256)));
}

#[test]
fn option_command_replies_are_acks_or_refusals() {
    let ok = r#"{"success":true,"conn_id":"aa01","data":{"failTopics":[],
        "successTopics":["orderbook.100.BTC-6JAN23-18000-C"]},"type":"COMMAND_RESP"}"#;
    assert_eq!(frame_of(ok), Frame::Ack);
    let failed = r#"{"success":true,"conn_id":"aa01","data":{"failTopics":["publicTrade.XYZ"],
        "successTopics":[]},"type":"COMMAND_RESP"}"#;
    assert_eq!(
        frame_of(failed),
        Frame::Refused("failTopics: publicTrade.XYZ".into())
    );
}

#[test]
fn known_unused_and_unknown_topics_are_skipped() {
    for (topic, name) in [
        ("allLiquidation.BTCUSDT", "allLiquidation"),
        ("insurance.USDT", "insurance"),
        ("priceLimit.BTCUSDT", "priceLimit"),
        ("orderbook.rpi.BTCUSDT", "orderbook"),
    ] {
        let message = edited("ws_kline", |v| v["topic"] = json!(topic));
        assert_eq!(frame_of(&message), Frame::Skipped(Skip::Unused(name)));
    }
    let new = edited("ws_kline", |v| {
        v["topic"] = json!(format!("{}.X", "n".repeat(99)))
    });
    assert_eq!(
        frame_of(&new),
        Frame::Skipped(Skip::Unknown("n".repeat(64)))
    );
}

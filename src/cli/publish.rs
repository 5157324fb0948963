//! `signal-engine publish`: historical files → a Kafka topic of MarketEvent JSON, key = symbol,
//! message timestamp = event time. For replays through Kafka, backfills and tests.
#![allow(clippy::disallowed_methods)] // publishing is paced and timed on the wall clock

use crate::config::kafka::valid_topic;
use crate::config::{Config, OptionValue};
use crate::ingest::kafka::client;
use crate::ingest::kafka::producer::{AckingProducer, Record};
use crate::ingest::replay::{ReplaySource, check_intervals};
use anyhow::{Context, bail};
use clap::Args;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub input: super::DataArgs,
    /// Bootstrap servers (default: the config's kafka.brokers).
    #[arg(long)]
    pub brokers: Option<String>,
    /// Topic (default: the first of the config's kafka.source.topics).
    #[arg(long)]
    pub topic: Option<String>,
    /// Create the topic with this many partitions when it does not exist.
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Events per second (default: as fast as the broker takes them).
    #[arg(long)]
    pub rate: Option<f64>,
    /// A librdkafka producer property, as kcat's -X (repeatable), e.g.
    /// `-X batch.num.messages=1` (one record per batch: tansu 0.6.0 cannot fetch from an offset
    /// inside a batch, so topics a test seeks in are written that way).
    #[arg(short = 'X', long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

pub fn run(mut config: Config, a: PublishArgs) -> anyhow::Result<()> {
    a.input.apply(&mut config);
    let mut kafka = config.kafka.clone().unwrap_or_default();
    if let Some(b) = &a.brokers {
        kafka.brokers = b.clone();
    }
    let topic = match (
        &a.topic,
        kafka.source.as_ref().and_then(|s| s.topics.first()),
    ) {
        (Some(t), _) | (None, Some(t)) => t.clone(),
        (None, None) => bail!("no --topic given and the config has no kafka.source.topics"),
    };
    if !valid_topic(&topic) {
        bail!("--topic {topic:?} is not a Kafka topic name");
    }
    if a.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of events per second");
    }
    let paths = a.input.paths(&config)?;
    check_intervals(&paths, config.features.bar_interval_secs)?;
    let options = a.input.options(&config)?;
    let rt = super::runtime()?;
    match a.partitions {
        Some(n) if n >= 1 => rt.block_on(client::create_topics(&kafka, &[&topic], n))?,
        Some(_) => bail!("--partitions must be >= 1"),
        None => rt.block_on(client::ensure_topics(&kafka, &[&topic]))?,
    }
    let source = ReplaySource::open(&paths, &options)?;
    let mut props = BTreeMap::new();
    for p in &a.properties {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("-X {p}: expected KEY=VALUE"))?;
        props.insert(k.to_string(), OptionValue::Text(v.to_string()));
    }
    let producer = AckingProducer::new(&kafka, &props, None, "publisher")?;
    let started = Instant::now();
    let mut n = 0u64;
    let mut buf = Vec::with_capacity(512);
    for ev in source {
        let ev = ev?;
        if let Some(rate) = a.rate {
            let due = Duration::from_secs_f64(n as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        buf.clear();
        serde_json::to_writer(&mut buf, &ev).context("cannot encode an event")?;
        let rec = Record {
            topic: &topic,
            key: Some(ev.symbol.as_str().as_bytes()),
            payload: Some(&buf),
            headers: &[],
            timestamp_ms: Some(ev.ts_event_ns.div_euclid(1_000_000)),
            origin: None,
        };
        producer.send(rec, &|| false)?;
        n += 1;
    }
    producer.flush(Duration::from_secs(60))?;
    if let Some(e) = producer.failure() {
        bail!(
            "{} events could not be delivered to {topic}: {e}",
            producer.failures()
        );
    }
    crate::app::flush_dead_letters(&options)?;
    println!(
        "published {n} events to {topic} on {} in {:.2} s",
        kafka.brokers,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

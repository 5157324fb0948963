//! Which CSV layout a file holds, decided from its first record (header or first data row).
//!
//! In order: a column named `side`, or `buy`/`sell` in the third column of a header-less row ⇒
//! trades (the trades reader then insists on a header); exactly 12 columns ⇒ data.binance.vision
//! klines; 6 or 7 columns ⇒ generic OHLCV (wider files are refused rather than guessed, since a
//! kline-like layout read as OHLCV would silently lose its real volumes); an empty file ⇒ klines
//! (it yields nothing either way). A `true`/`false` field marks data.binance.vision's trades and
//! aggTrades files (`is_buyer_maker`), which are not read, so they are refused rather than taken
//! for 7-column OHLCV. Anything else is [`IngestError::UnknownLayout`] naming the file
//! and the three layouts. The file is opened again by the chosen reader, so sniffing holds no rows.

use super::IngestError;
use super::csv_rows::{CsvRows, Step, header_name};
use std::path::Path;

/// A CSV layout the replay source reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CsvFormat {
    Kline,
    Ohlcv,
    Trades,
}

const EXPECTED: &str = "12-column data.binance.vision kline CSV, 6- or 7-column OHLCV CSV \
                        (timestamp,open,high,low,close,volume) or trades CSV with a header \
                        (timestamp,id,side,price,amount,cost)";

pub(crate) fn sniff_csv(path: &Path) -> Result<CsvFormat, IngestError> {
    let mut rows = CsvRows::open(path)?;
    let columns = match rows.step()? {
        Step::End => return Ok(CsvFormat::Kline),
        Step::Bad(..) => 0,
        Step::Row(_) => rows.record().len(),
    };
    let names: Vec<String> = rows.record().iter().map(header_name).collect();
    let side_column = names.iter().any(|n| n == "side");
    let side_value = names.get(2).is_some_and(|n| n == "buy" || n == "sell");
    let flag = names.iter().any(|n| n == "true" || n == "false");
    match columns {
        _ if side_column || side_value => Ok(CsvFormat::Trades),
        _ if flag => Err(unknown(path, columns)),
        12 => Ok(CsvFormat::Kline),
        6 | 7 => Ok(CsvFormat::Ohlcv),
        _ => Err(unknown(path, columns)),
    }
}

fn unknown(path: &Path, columns: usize) -> IngestError {
    IngestError::UnknownLayout {
        path: path.to_path_buf(),
        columns,
        expected: EXPECTED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(text: &str) -> Result<CsvFormat, IngestError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("X-1m.csv");
        std::fs::write(&path, text).unwrap();
        sniff_csv(&path)
    }

    #[test]
    fn layouts_by_first_record() {
        let kline = "1769904000000,9.98,9.99,9.97,9.98,244,1769904059999,2441,782,93,937,0\n";
        assert_eq!(sniff(kline).unwrap(), CsvFormat::Kline);
        assert_eq!(sniff("").unwrap(), CsvFormat::Kline);
        let ohlcv = "open_time_ms,open,high,low,close,volume\n1570752000000,1,1,1,1,1\n";
        assert_eq!(sniff(ohlcv).unwrap(), CsvFormat::Ohlcv);
        assert_eq!(sniff("1570752000,1,1,1,1,1,9\n").unwrap(), CsvFormat::Ohlcv);
        let trades = "timestamp,id,side,price,amount,cost\n1570752011620,1,sell,1,1,1\n";
        assert_eq!(sniff(trades).unwrap(), CsvFormat::Trades);
        let headless = "1570752011620,1,sell,1,1,1\n";
        assert_eq!(sniff(headless).unwrap(), CsvFormat::Trades);
    }

    #[test]
    fn unknown_layouts_name_file_and_expectations() {
        let agg_trade = "26129,0.01633102,4.7,27781,27781,1498793709153,true,true\n";
        let trade = "13519807,0.00141342,23.0,0.0325,1570752011620,False,True\n";
        for text in [
            "a,b,c\n",
            "1,2,3,4,5\n",
            "1,2,3,4,5,6,7,8\n",
            "x\n",
            agg_trade,
            trade,
        ] {
            let err = sniff(text).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, IngestError::UnknownLayout { .. }), "{msg}");
            assert!(msg.contains("X-1m.csv: unknown column layout ("), "{msg}");
            assert!(msg.contains("OHLCV") && msg.contains("trades"), "{msg}");
        }
    }
}

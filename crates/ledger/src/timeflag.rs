//! The tools' time flags (`replay --until-time`, `export --from/--until`): an instant given as
//! RFC 3339, or as `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` read in the business
//! time zone (the config's `timezone`, the host's by default), since that is how people write a
//! cut-off ("the 30th at 03:20") and how every business time of the ledger is written.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The zone a time flag without an offset is read in: `--config`/`--timezone` as for `serve`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ZoneArgs {
    /// The config file whose `timezone` reads times written without an offset.
    #[arg(long, env = "LEDGER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// The business time zone (IANA name) for times written without an offset; default the
    /// config's, else the host's.
    #[arg(long, env = "LEDGER_TIMEZONE")]
    pub timezone: Option<String>,
}

impl ZoneArgs {
    pub fn zone(&self) -> anyhow::Result<Tz> {
        crate::config::Config::resolve(&crate::config::ConfigArgs {
            config: self.config.clone(),
            timezone: self.timezone.clone(),
            ..Default::default()
        })?
        .zone()
    }

    /// `text` as an instant, or `None` when absent.
    pub fn instant(&self, text: Option<&str>) -> anyhow::Result<Option<DateTime<Utc>>> {
        text.map(|t| parse(t, self.zone()?).map_err(anyhow::Error::msg))
            .transpose()
    }
}

/// Parses one time flag; a local time that does not exist (a DST gap) or is ambiguous is an
/// error naming it rather than a guess.
pub fn parse(text: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or_else(|| {
        format!(
            "{text:?} is not a time: give RFC 3339 (2024-06-01T12:00:00Z) or YYYY-MM-DD, \
                 YYYY-MM-DD HH:MM, YYYY-MM-DD HH:MM:SS in the business time zone"
        )
    })?;
    zone.from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{text:?} does not exist or is ambiguous in {}", zone.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_reads_in_the_zone_and_rfc3339_keeps_its_offset() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let at = |s: &str| parse(s, sh).unwrap().to_rfc3339();
        assert_eq!(at("2026-11-30"), "2026-11-29T16:00:00+00:00");
        assert_eq!(at("2026-11-30 03:20"), "2026-11-29T19:20:00+00:00");
        assert_eq!(at("2026-11-30 03:20:15"), "2026-11-29T19:20:15+00:00");
        assert_eq!(at("2026-11-30T03:20:15+01:00"), "2026-11-30T02:20:15+00:00");
        assert_eq!(at("2026-11-30T03:20:15Z"), "2026-11-30T03:20:15+00:00");
        assert!(
            parse("2026-11-30 3pm", sh)
                .unwrap_err()
                .contains("RFC 3339")
        );
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert!(parse("2026-03-29 02:30", paris).is_err(), "a DST gap");
    }
}

//! Where an outsider is, coarsely: the country of an access event.
//!
//! From a trusted reverse proxy's header when `proxy.country_header` is set (e.g.
//! `CF-IPCountry`), otherwise from a MaxMind-format database (GeoLite2-Country, DB-IP) when
//! `geoip_database` names one, otherwise unknown. Only the ISO country code is kept.

use std::net::IpAddr;

use maxminddb::PathElement;

use crate::config::Config;

/// The configured country sources.
pub struct Geo {
    header: Option<String>,
    reader: Option<maxminddb::Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo")
            .field("header", &self.header)
            .field("database", &self.reader.is_some())
            .finish()
    }
}

impl Geo {
    /// Opens the database named by the configuration, if any.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let reader = match &config.geoip_database {
            Some(path) => Some(maxminddb::Reader::open_readfile(path).map_err(|e| {
                anyhow::anyhow!("cannot open the GeoIP database {}: {e}", path.display())
            })?),
            None => None,
        };
        Ok(Self {
            header: config.proxy.country_header.clone(),
            reader,
        })
    }

    /// No sources: every country is unknown.
    pub fn none() -> Self {
        Self {
            header: None,
            reader: None,
        }
    }

    /// The trusted proxy's country header, when one is configured: the front door passes its
    /// value to [`Geo::country`].
    pub fn header_name(&self) -> Option<&str> {
        self.header.as_deref()
    }

    /// The ISO 3166-1 alpha-2 code for a client at `ip` whose request carried `header` as the
    /// value of [`Geo::header_name`], when a source knows it.
    pub fn country(&self, header: Option<&str>, ip: Option<IpAddr>) -> Option<String> {
        if self.header.is_some() {
            return header
                .map(str::trim)
                .filter(|v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()))
                .map(str::to_ascii_uppercase);
        }
        let reader = self.reader.as_ref()?;
        let result = reader.lookup(ip?).ok()?;
        let code: Option<String> = result
            .decode_path(&[PathElement::Key("country"), PathElement::Key("iso_code")])
            .ok()
            .flatten();
        code.filter(|c| c.len() == 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_header_names_the_country_and_junk_is_ignored() {
        let geo = Geo {
            header: Some("cf-ipcountry".into()),
            reader: None,
        };
        assert_eq!(geo.header_name(), Some("cf-ipcountry"));
        assert_eq!(geo.country(Some("nl"), None).as_deref(), Some("NL"));
        assert_eq!(geo.country(Some("<script>"), None), None);
        assert_eq!(geo.country(None, None), None);
        assert_eq!(
            Geo::none().country(Some("NL"), Some("192.0.2.1".parse().unwrap())),
            None
        );
    }

    #[test]
    fn a_missing_database_is_a_clear_start_up_error() {
        let config = Config {
            geoip_database: Some("/nonexistent/GeoLite2-Country.mmdb".into()),
            ..Config::default()
        };
        let error = Geo::load(&config).unwrap_err().to_string();
        assert!(error.contains("GeoIP database"), "{error}");
    }
}

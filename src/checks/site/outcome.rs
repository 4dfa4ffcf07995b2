//! The outcome of the `site-status` check, from the facts its comparisons established.

/// Facts the comparisons established, which [`decide`] turns into the outcome.
#[derive(Debug, Default, Clone)]
pub(super) struct Signals {
    pub(super) config_unknown: bool,
    pub(super) no_block_or_ssl: bool,
    /// No server block listens on the address and port probed.
    pub(super) no_listener: bool,
    pub(super) unreachable: bool,
    /// The domain matches no `server_name` and the default server's certificate does not cover it.
    pub(super) name_fell_through: bool,
    pub(super) served_other_block: bool,
    pub(super) conf_changed_after_reload: bool,
    pub(super) stale_inode: bool,
    pub(super) not_mounted: bool,
    pub(super) renewed_elsewhere: bool,
    pub(super) disk_unusable: bool,
    pub(super) disk_older: bool,
    pub(super) leaf_only: bool,
    pub(super) served_matches_disk: bool,
    pub(super) served_chain_differs: bool,
    pub(super) served_chain_incomplete: bool,
    pub(super) served_acceptable: bool,
}

/// Picks the outcome, most fundamental problem first: what cannot be fixed by a reload is
/// reported before the reload is offered.
pub(super) fn decide(signals: &Signals) -> &'static str {
    if signals.config_unknown {
        return "config-unknown";
    }
    // No handshake on a port the configuration does not listen on points to a wrong port.
    if signals.no_listener && signals.unreachable {
        return "unreachable";
    }
    if signals.no_block_or_ssl || signals.no_listener {
        return "sni-fallthrough";
    }
    if signals.unreachable {
        return "unreachable";
    }
    if signals.name_fell_through
        || (signals.served_other_block && !signals.conf_changed_after_reload)
    {
        return "sni-fallthrough";
    }
    if signals.stale_inode {
        return "stale-inode";
    }
    if signals.not_mounted || signals.renewed_elsewhere {
        return "wrong-file";
    }
    if signals.disk_unusable || signals.disk_older {
        return "file-bad";
    }
    if signals.leaf_only {
        return "chain-incomplete";
    }
    if !signals.served_matches_disk || signals.served_chain_differs {
        return "stale";
    }
    if signals.served_chain_incomplete {
        return "chain-incomplete";
    }
    if signals.served_acceptable {
        "healthy"
    } else {
        "file-bad"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decide_orders_causes() {
        let stale = Signals {
            served_acceptable: false,
            ..Signals::default()
        };
        assert_eq!(decide(&stale), "stale");

        let healthy = Signals {
            served_matches_disk: true,
            served_acceptable: true,
            ..Signals::default()
        };
        assert_eq!(decide(&healthy), "healthy");

        let inode = Signals {
            stale_inode: true,
            ..Signals::default()
        };
        assert_eq!(decide(&inode), "stale-inode");

        let fell_through = Signals {
            name_fell_through: true,
            stale_inode: true,
            conf_changed_after_reload: true,
            ..Signals::default()
        };
        assert_eq!(decide(&fell_through), "sni-fallthrough");

        let new_block = Signals {
            served_other_block: true,
            conf_changed_after_reload: true,
            ..Signals::default()
        };
        assert_eq!(decide(&new_block), "stale");

        let leaf_only = Signals {
            leaf_only: true,
            served_matches_disk: true,
            ..Signals::default()
        };
        assert_eq!(decide(&leaf_only), "chain-incomplete");

        let old_chain = Signals {
            served_matches_disk: true,
            served_chain_differs: true,
            served_chain_incomplete: true,
            ..Signals::default()
        };
        assert_eq!(decide(&old_chain), "stale");

        let bad_file = Signals {
            disk_unusable: true,
            renewed_elsewhere: true,
            ..Signals::default()
        };
        assert_eq!(decide(&bad_file), "wrong-file");

        let down = Signals {
            unreachable: true,
            name_fell_through: true,
            ..Signals::default()
        };
        assert_eq!(decide(&down), "unreachable");

        let wrong_port = Signals {
            no_listener: true,
            unreachable: true,
            ..Signals::default()
        };
        assert_eq!(decide(&wrong_port), "unreachable");

        let other_program = Signals {
            no_listener: true,
            ..Signals::default()
        };
        assert_eq!(decide(&other_program), "sni-fallthrough");
    }
}

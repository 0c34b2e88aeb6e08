//! What a subscriber is subscribed to, and the commands that say so.
//!
//! The set follows the commands as they are sent (a `SUBSCRIBE a` adds `a`
//! at once, `UNSUBSCRIBE` with no names empties the channels), not the
//! server's confirmations: after a reconnection it is what the user asked
//! for that must hold again, including commands the old connection took
//! with it unanswered.

use std::collections::BTreeSet;

use crate::command::Command;
use crate::error::{Error, ErrorKind, Result};

/// What a subscription names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A channel (`SUBSCRIBE`).
    Channel,
    /// A glob-style pattern of channels (`PSUBSCRIBE`).
    Pattern,
    /// A shard channel (`SSUBSCRIBE`, Redis 7 and later).
    Shard,
}

impl Kind {
    const ALL: [Self; 3] = [Self::Channel, Self::Pattern, Self::Shard];

    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Self::Channel => b"SUBSCRIBE",
            Self::Pattern => b"PSUBSCRIBE",
            Self::Shard => b"SSUBSCRIBE",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Self::Channel => b"UNSUBSCRIBE",
            Self::Pattern => b"PUNSUBSCRIBE",
            Self::Shard => b"SUNSUBSCRIBE",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Channel => 0,
            Self::Pattern => 1,
            Self::Shard => 2,
        }
    }
}

/// The names subscribed to, per kind.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    sets: [BTreeSet<Vec<u8>>; 3],
}

/// Refuses a subscribe command that names nothing (the server would answer
/// it with an error nobody waits for). The uds codec checks it before
/// sending, so every transport raises the same error at the call.
pub fn check_subscribe(kind: Kind, names: &[Vec<u8>]) -> Result<()> {
    if names.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{} needs at least one name",
                String::from_utf8_lossy(kind.subscribe_word())
            ),
        ));
    }
    Ok(())
}

impl Subscriptions {
    /// Records a subscribe command and returns its bytes, with the names
    /// it added (those not subscribed to already).
    pub(crate) fn subscribe(
        &mut self,
        kind: Kind,
        names: &[Vec<u8>],
    ) -> Result<(Command, Vec<Vec<u8>>)> {
        check_subscribe(kind, names)?;
        let cmd = command(kind.subscribe_word(), names)?;
        let set = &mut self.sets[kind.index()];
        let added = names
            .iter()
            .filter(|name| set.insert((*name).clone()))
            .cloned()
            .collect();
        Ok((cmd, added))
    }

    /// Forgets `names` of `kind` (a subscribe that failed).
    pub(crate) fn forget(&mut self, kind: Kind, names: &[Vec<u8>]) {
        let set = &mut self.sets[kind.index()];
        for name in names {
            set.remove(name);
        }
    }

    /// Records an unsubscribe command (no names: every one of the kind) and
    /// returns its bytes.
    pub(crate) fn unsubscribe(&mut self, kind: Kind, names: &[Vec<u8>]) -> Result<Command> {
        let cmd = command(kind.unsubscribe_word(), names)?;
        let set = &mut self.sets[kind.index()];
        if names.is_empty() {
            set.clear();
        } else {
            for name in names {
                set.remove(name);
            }
        }
        Ok(cmd)
    }

    /// Whether `name` of `kind` is subscribed to.
    pub(crate) fn contains(&self, kind: Kind, name: &[u8]) -> bool {
        self.sets[kind.index()].contains(name)
    }

    /// The slot of the shard channels (the first one's): where a single
    /// connection's subscriber goes. A cluster client's subscriber keeps its
    /// shard channels elsewhere, a connection per node (`super::shards`).
    pub(crate) fn shard_slot(&self) -> Option<u16> {
        self.sets[Kind::Shard.index()]
            .iter()
            .next()
            .map(|name| crate::cluster::slot_of(name))
    }

    /// Whether no name of `kind` is subscribed to.
    pub(crate) fn none_of(&self, kind: Kind) -> bool {
        self.sets[kind.index()].is_empty()
    }

    /// Records `names` of `kind` without a command (shard channels that
    /// another connection of the subscriber held).
    pub(crate) fn add(&mut self, kind: Kind, names: &[Vec<u8>]) {
        self.sets[kind.index()].extend(names.iter().cloned());
    }

    /// Takes out the shard channels `leaving` says go, and returns them.
    pub(crate) fn take_shards(&mut self, leaving: &dyn Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let set = &mut self.sets[Kind::Shard.index()];
        let gone: Vec<Vec<u8>> = set.iter().filter(|name| leaving(name)).cloned().collect();
        for name in &gone {
            set.remove(name);
        }
        gone
    }

    /// Appends the commands that subscribe a new connection to everything
    /// again, one command per name (so each is answered by exactly one
    /// confirmation or one error, whatever the server refuses), and returns
    /// how many there are.
    pub(crate) fn restore_into(&self, out: &mut Vec<u8>) -> usize {
        let mut count = 0;
        for kind in Kind::ALL {
            for name in &self.sets[kind.index()] {
                if let Ok(cmd) = command(kind.subscribe_word(), std::slice::from_ref(name)) {
                    out.extend_from_slice(cmd.packed());
                    count += 1;
                }
            }
        }
        count
    }
}

/// The subscribe command of `kind` for `names`.
pub(crate) fn subscribe_command(kind: Kind, names: &[Vec<u8>]) -> Result<Command> {
    command(kind.subscribe_word(), names)
}

fn command(word: &[u8], names: &[Vec<u8>]) -> Result<Command> {
    Command::from_args(std::iter::once(word).chain(names.iter().map(Vec::as_slice)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn follows_the_commands_and_restores_one_name_per_command() {
        let mut subs = Subscriptions::default();
        let (cmd, added) = subs
            .subscribe(Kind::Channel, &names(&["a", "b", "a"]))
            .unwrap();
        assert_eq!(
            cmd,
            Command::from_args(["SUBSCRIBE", "a", "b", "a"]).unwrap()
        );
        assert_eq!(added, names(&["a", "b"]));
        let (_, added) = subs.subscribe(Kind::Channel, &names(&["b"])).unwrap();
        assert!(added.is_empty(), "b was subscribed to already");
        subs.subscribe(Kind::Pattern, &names(&["p*"])).unwrap();
        subs.subscribe(Kind::Shard, &names(&["s"])).unwrap();
        subs.unsubscribe(Kind::Channel, &names(&["a"])).unwrap();

        let mut out = Vec::new();
        assert_eq!(subs.restore_into(&mut out), 3);
        let mut expected = Vec::new();
        for words in [
            ["SUBSCRIBE", "b"],
            ["PSUBSCRIBE", "p*"],
            ["SSUBSCRIBE", "s"],
        ] {
            expected.extend_from_slice(Command::from_args(words).unwrap().packed());
        }
        assert_eq!(out, expected);

        let all = subs.unsubscribe(Kind::Pattern, &[]).unwrap();
        assert_eq!(all, Command::from_args(["PUNSUBSCRIBE"]).unwrap());
        assert_eq!(subs.restore_into(&mut Vec::new()), 2);
    }

    #[test]
    fn subscribing_to_nothing_is_refused() {
        let mut subs = Subscriptions::default();
        let err = subs.subscribe(Kind::Shard, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("SSUBSCRIBE"), "{err}");
    }
}

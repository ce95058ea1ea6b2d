"""The browser companion: what the browsers report about their tabs.

The extension (browser/) talks to ``shareguard native-host`` over native
messaging (:mod:`agent.companion.protocol`); the host relays each fact to the
running agent of the same user over a local channel
(:mod:`agent.companion.channel`); the agent's
:class:`~agent.companion.receiver.CompanionReceiver` turns them into snapshot
``pages``. ``shareguard browser install`` registers the host
(:mod:`agent.companion.install`). What is seen, kept and sent:
docs/privacy.md.
"""

#: The native-messaging host name the extension connects to.
HOST_NAME = "org.shareguard.companion"

#: The Firefox add-on id (browser/firefox/manifest.json).
FIREFOX_ID = "companion@shareguard.org"

#: The Chromium extension id of browser/extension, fixed by the manifest's "key".
CHROMIUM_ID = "mongpcfidalicdeaedkplfaoggphnhbm"

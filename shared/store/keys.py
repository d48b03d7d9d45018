"""Redis key names, in one place so every service agrees on them."""

LOG = "aicity:log"  # stream: every accepted event, canonical JSON, field "e"
CHANGES = "aicity:changes"  # stream: ranking changes for SSE, capped
CITIES = "aicity:cities"  # set: every city that ever received an event
DIRTY = "aicity:dirty"  # set: cities with work the ranking does not yet reflect
BACKLOG = "aicity:backlog"  # integer: events accepted but not yet folded into a score
INDEX = "aicity:index"  # hash: date, tick (winning tick version), methodology, version, updated_ms
UNRANKED = "aicity:unranked"  # hash: city -> reason
RANK_OVERALL = "aicity:rank:overall"  # zset
FEEDS = "aicity:feeds"  # hash: feed name -> JSON {cities, token_sha256, created_at}
FEED_TOKENS = "aicity:feed-tokens"  # hash: sha256(token) -> feed name
DEAD = "aicity:dead"  # list: the last 1,000 dead letters, '<city> <submission key> <reason>'
DEAD_LETTERED = "aicity:dead-lettered"  # integer: events that could not be applied, ever
BANDS = "aicity:bands"  # JSON: rank bands {ranking_version, draws, bands: {city: [median, p05, p95]}}
BANDS_PENDING = "aicity:bands:pending"  # flag (SET NX EX): a band recompute is queued


def rank_pillar(pillar: str) -> str:
    """Return the sorted set of one pillar's ranking."""
    return f"aicity:rank:pillar:{pillar}"


def event(event_id: str) -> str:
    """Return the record of one submitted event (shared/domain/submission.py)."""
    return f"aicity:ev:{event_id}"


def inbox(city: str) -> str:
    """Return the list of a city's accepted events not yet folded into its state."""
    return f"aicity:inbox:{city}"


def pending(city: str) -> str:
    """Return the flag saying a recompute of the city is queued."""
    return f"aicity:pending:{city}"


def city_rev(city: str) -> str:
    """Return the revision counter of a city's stored state (compare-and-set)."""
    return f"aicity:rev:{city}"


def city_state(city: str) -> str:
    """Return the JSON state (winning entries) of a city."""
    return f"aicity:state:{city}"


def city_result(city: str) -> str:
    """Return the JSON scoring result (pillars, indicators, projects) of a city."""
    return f"aicity:result:{city}"


def city_card(city: str) -> str:
    """Return the compact JSON row of a city for ranking tables."""
    return f"aicity:card:{city}"


def consumed(city: str) -> str:
    """Return the count of the city's events ever folded into its state (a watermark)."""
    return f"aicity:consumed:{city}"


def scored_versions(city: str) -> str:
    """Return the sorted set: watermark reached -> ranking version of that commit (capped)."""
    return f"aicity:scoredv:{city}"


def city_history(city: str) -> str:
    """Return the sorted set of a city's kept history: ranking version -> packed entry
    (shared/store/history.py; thinned by the retention tiers, never unbounded)."""
    return f"aicity:hist:{city}"


VERSIONS = "aicity:versions"  # zset: ranking version -> '<version>:<commit time ms>' (kept ones)
HISTORY_COMPACTED = "aicity:hist-compacted"  # string: ms up to which history was thinned
HISTORY_COMPACTING = "aicity:hist-compacting"  # flag (SET NX EX): a thinning pass was started
HISTORY_PASS = "aicity:hist-pass"  # JSON: the thinning pass in progress (plan and city cursor)


def city_projects(city: str) -> str:
    """Return the set of project ids a city ever received (removals must name one)."""
    return f"aicity:projects:{city}"


def city_identity(city: str) -> str:
    """Return the hash of the city's admin-set identity (name, country, region) and version."""
    return f"aicity:identity:{city}"


def feed_backlog(feed: str) -> str:
    """Return the count of a feed's accepted events not yet folded into a score."""
    return f"aicity:feed-backlog:{feed}"


def feed_quota(feed: str) -> str:
    """Return the token bucket (events/s) of a feed."""
    return f"aicity:quota:{feed}"

# Webhooks (shared/store/hooks.py)
HOOKS = "aicity:hooks"  # hash: hook id -> JSON {url, on, cities, min_move, secret, enabled, ...}
HOOKS_CURSOR = "aicity:hooks:cursor"  # string: last change stream id the dispatcher handled
HOOKS_DISPATCH = "aicity:hooks:dispatch"  # flag (SET NX PX): a dispatch message is queued
HOOKS_RETRY = "aicity:hooks:retry"  # zset: delivery JSON -> due time (ms), drained by the sweeper


def hook_queue(hook: str) -> str:
    """Return the bounded list of a hook's deliveries waiting to be sent."""
    return f"aicity:hook:queue:{hook}"


def hook_log(hook: str) -> str:
    """Return the capped list of a hook's delivery attempts, newest first."""
    return f"aicity:hook:log:{hook}"


def hook_dropped(hook: str) -> str:
    """Return the count of a hook's deliveries dropped because its queue was full."""
    return f"aicity:hook:dropped:{hook}"


def hook_lock(hook: str) -> str:
    """Return the lock (SET NX PX, a random token) of the one task delivering a hook's queue."""
    return f"aicity:hook:lock:{hook}"


FEED_STATS = "aicity:feedstats"  # prefix of feed_stats: '<prefix>:<hour>:<feed>'


def feed_stats(feed: str, hour: int | str) -> str:
    """Return a feed's outcome counters for one UTC hour (epoch hours; 'all': all time)."""
    return f"{FEED_STATS}:{hour}:{feed}"


def feed_rejections(feed: str) -> str:
    """Return the capped list of a feed's latest rejected items (JSON, newest first)."""
    return f"aicity:feed-rejections:{feed}"


HELD = "aicity:held"  # hash: event id -> JSON of an event held for review (body, feed, values)
HELD_SINCE = "aicity:held:since"  # zset: event id -> ms it was held (the oldest one's age)


def held_by_feed(feed: str) -> str:
    """Return the zset of a feed's held events (event id -> ms held): its cap and bulk reject."""
    return f"aicity:held:feed:{feed}"


def review_baseline(city: str) -> str:
    """Return a city's approved position for the review window (JSON, expires with it)."""
    return f"aicity:review:base:{city}"


def review_lock(city: str) -> str:
    """Return the short lock one scoped batch holds on a city while it is judged and stored."""
    return f"aicity:review:lock:{city}"

// Versioned schema: each entry runs once, in order, inside a transaction; never edit a shipped one.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'sessions, hosts, projects, instances, plug-ins, operations, replies, events, leases, sim cloud',
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        workflow TEXT NOT NULL,
        maintenance_at INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        options TEXT NOT NULL,
        driver TEXT NOT NULL,
        download TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        state_entered_at INTEGER NOT NULL,
        visit INTEGER NOT NULL DEFAULT 0,
        target_host TEXT,
        failure TEXT,
        failed_state TEXT,
        discovered INTEGER NOT NULL DEFAULT 0,
        synced_at INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX sessions_state ON sessions(state);

      CREATE TABLE action_plugins (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        plugin TEXT NOT NULL,
        type TEXT NOT NULL,
        metadata TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
      );

      CREATE TABLE hosts (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        vcpus INTEGER NOT NULL,
        vcpus_used INTEGER NOT NULL,
        state TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        disabled_before INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, name)
      );

      CREATE TABLE projects (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        -- ask: it is subscribed and answers; fail / migrate / live_migrate: nobody answers for it
        policy TEXT NOT NULL DEFAULT 'ask',
        state TEXT,
        visit INTEGER NOT NULL DEFAULT -1,
        reply_state TEXT,
        reply_at INTEGER,
        replied_at INTEGER,
        PRIMARY KEY (session_id, project_id)
      );

      CREATE TABLE instances (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        instance_id TEXT NOT NULL,
        name TEXT NOT NULL,
        project_id TEXT NOT NULL,
        host TEXT NOT NULL,
        vcpus INTEGER NOT NULL,
        floating_ip INTEGER NOT NULL,
        action TEXT,
        action_done INTEGER NOT NULL DEFAULT 0,
        project_state TEXT,
        -- the id it had before its project re-instantiated it (OWN_ACTION): replies may name either
        replaced_id TEXT,
        PRIMARY KEY (session_id, instance_id)
      );

      CREATE TABLE operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        visit INTEGER NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        check_at INTEGER,
        deadline INTEGER,
        cause TEXT,
        result TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX operations_session ON operations(session_id, visit);
      CREATE INDEX operations_open ON operations(session_id, status);

      -- Per-host runs of action plug-ins are operations of kind 'plugin'.
      CREATE VIEW plugin_runs AS
        SELECT id, session_id, target AS host, json_extract(params, '$.plugin') AS plugin,
               json_extract(params, '$.type') AS type, status, cause,
               json_extract(result, '$.output') AS output, created_at, updated_at
        FROM operations WHERE kind = 'plugin';

      CREATE TABLE replies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        state TEXT NOT NULL,
        instance_actions TEXT NOT NULL,
        received_at INTEGER NOT NULL
      );

      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT,
        time INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        message_id TEXT NOT NULL,
        payload TEXT NOT NULL
      );
      CREATE INDEX events_session ON events(session_id, id);

      -- One engine at a time runs a session: the owner holds the lease until it expires.
      CREATE TABLE leases (
        session_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );

      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

      -- Who wants which notifications: a webhook URL, or (url NULL) a project followed locally by
      -- maintctl itself (project agent, project reply), which reads the event log.
      CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        url TEXT,
        format TEXT NOT NULL,
        session_id TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX subscriptions_project ON subscriptions(project_id, event_type);

      -- The outbox: one row per event and webhook, written in the event's own transaction.
      CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL,
        subscription_id INTEGER NOT NULL,
        session_id TEXT,
        url TEXT NOT NULL,
        format TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        delivered_at INTEGER
      );
      CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
      CREATE INDEX deliveries_session ON deliveries(session_id);

      -- What another process asks of the engine that runs a session (e.g. delete it).
      CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        done_at INTEGER,
        result TEXT
      );

      -- The simulated cloud (infra/sim) keeps its whole state here too.
      CREATE TABLE sim_clouds (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timing TEXT NOT NULL,
        faults TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sim_hosts (
        cloud_id TEXT NOT NULL REFERENCES sim_clouds(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        vcpus INTEGER NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        disabled_reason TEXT,
        maintained_count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cloud_id, name)
      );
      CREATE TABLE sim_instances (
        cloud_id TEXT NOT NULL REFERENCES sim_clouds(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        project_id TEXT NOT NULL,
        host TEXT NOT NULL,
        vcpus INTEGER NOT NULL,
        floating_ip INTEGER NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (cloud_id, id)
      );
      CREATE TABLE sim_projects (
        cloud_id TEXT NOT NULL REFERENCES sim_clouds(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        auto_reply TEXT NOT NULL,
        action TEXT NOT NULL,
        scale_in INTEGER NOT NULL,
        reply_delay_s REAL NOT NULL,
        PRIMARY KEY (cloud_id, id)
      );
      CREATE TABLE sim_operations (
        cloud_id TEXT NOT NULL REFERENCES sim_clouds(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        from_host TEXT,
        to_host TEXT,
        due_at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (cloud_id, key)
      );
      -- What the scripted VNFMs already did, so a restart never does it twice.
      CREATE TABLE sim_vnfm_acts (
        cloud_id TEXT NOT NULL REFERENCES sim_clouds(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        act TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (cloud_id, session_id, project_id, act)
      );
    `,
  },
  {
    version: 2,
    name: 'host lanes: per-host progress, waves, reservations, memory, operations keyed by lane step, host claims',
    sql: `
      ALTER TABLE sessions DROP COLUMN target_host;
      ALTER TABLE sessions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;

      ALTER TABLE hosts ADD COLUMN memory_mb INTEGER;
      ALTER TABLE hosts ADD COLUMN memory_mb_used INTEGER;
      ALTER TABLE hosts ADD COLUMN wave INTEGER;
      ALTER TABLE hosts ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE hosts ADD COLUMN cause TEXT;
      ALTER TABLE hosts ADD COLUMN since INTEGER NOT NULL DEFAULT 0;

      ALTER TABLE projects ADD COLUMN wave INTEGER;

      ALTER TABLE instances ADD COLUMN memory_mb INTEGER;
      ALTER TABLE instances ADD COLUMN wave INTEGER;
      ALTER TABLE instances ADD COLUMN target TEXT;
      CREATE INDEX instances_question ON instances(session_id, project_id, wave);

      -- An operation is one step of a lane (or of the session), named by its key.
      DROP INDEX operations_session;
      ALTER TABLE operations DROP COLUMN visit;
      ALTER TABLE operations ADD COLUMN key TEXT NOT NULL DEFAULT '';
      ALTER TABLE operations ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
      CREATE UNIQUE INDEX operations_key ON operations(session_id, key, attempt);
      CREATE INDEX operations_status ON operations(session_id, status);
      DROP INDEX operations_open;

      -- Fencing: every write of a session's runner names the lease epoch it holds.
      ALTER TABLE leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

      -- A host belongs to at most one active session of an infrastructure.
      CREATE TABLE host_claims (
        infrastructure TEXT NOT NULL,
        host TEXT NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        PRIMARY KEY (infrastructure, host)
      );
      CREATE INDEX host_claims_session ON host_claims(session_id);

      ALTER TABLE sim_hosts ADD COLUMN memory_mb INTEGER;
      ALTER TABLE sim_instances ADD COLUMN memory_mb INTEGER;
    `,
  },
  {
    version: 3,
    name: 'action plug-ins: explicit order, plug-in directories of a session, the runs of each plug-in with their output',
    sql: `
      DROP VIEW plugin_runs;
      ALTER TABLE action_plugins ADD COLUMN position INTEGER;
      ALTER TABLE sessions ADD COLUMN plugin_dirs TEXT NOT NULL DEFAULT '[]';

      -- One run of a plug-in (a host's or a session's): its status, exit status and the last part of its output.
      CREATE TABLE plugin_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        host TEXT,
        plugin TEXT NOT NULL,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        exit_status INTEGER,
        cause TEXT,
        output TEXT NOT NULL DEFAULT '',
        output_chars INTEGER NOT NULL DEFAULT 0,
        started_at INTEGER NOT NULL,
        ended_at INTEGER
      );
      CREATE INDEX plugin_runs_session ON plugin_runs(session_id, host, plugin);
    `,
  },
  {
    version: 4,
    name: 'releases, clusters and the release each of their hosts runs, cluster operations (update, downgrade, rollback), notifications',
    sql: `
      -- A release (seed 003): its version, the versions it can be updated from, what it needs.
      CREATE TABLE releases (
        name TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        can_update_from TEXT NOT NULL DEFAULT '[]',
        compatible_with TEXT,
        repo_source TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL
      );

      -- A cluster (the seed's environment): a current release always, a pending one while an operation runs.
      CREATE TABLE clusters (
        name TEXT PRIMARY KEY,
        cloud TEXT,
        current_release TEXT NOT NULL REFERENCES releases(name),
        pending_release TEXT REFERENCES releases(name),
        status TEXT NOT NULL,
        session_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      -- The release each host of a cluster runs.
      CREATE TABLE cluster_hosts (
        cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        host TEXT NOT NULL,
        release TEXT NOT NULL REFERENCES releases(name),
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (cluster, host)
      );

      -- What a session does to a cluster: kept after the session is deleted (a rollback names it).
      CREATE TABLE cluster_operations (
        session_id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        from_release TEXT NOT NULL,
        to_release TEXT NOT NULL,
        rollback_of TEXT,
        rollback_session TEXT,
        auto_rollback INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX cluster_operations_cluster ON cluster_operations(cluster);

      -- Nailgun's notifications: topic discover, done, error or warning, about a cluster, host, session.
      CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        message TEXT NOT NULL,
        cluster TEXT,
        host TEXT,
        session_id TEXT,
        time INTEGER NOT NULL
      );
      CREATE INDEX notifications_cluster ON notifications(cluster, id);
    `,
  },
  {
    version: 5,
    name: 'application constraints: instance groups and instance constraints (later Fenix)',
    sql: `
      CREATE TABLE instance_groups (
        group_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        group_name TEXT NOT NULL DEFAULT '',
        anti_affinity_group INTEGER NOT NULL DEFAULT 0,
        max_instances_per_host INTEGER NOT NULL DEFAULT 0,
        max_impacted_members INTEGER NOT NULL DEFAULT 1,
        recovery_time REAL NOT NULL DEFAULT 0,
        resource_mitigation INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX instance_groups_project ON instance_groups(project_id);

      CREATE TABLE instance_constraints (
        instance_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        -- Not a foreign key: a VNFM may PUT its instances before their group.
        group_id TEXT,
        instance_name TEXT NOT NULL DEFAULT '',
        max_interruption_time REAL,
        migration_type TEXT,
        resource_mitigation INTEGER NOT NULL DEFAULT 0,
        lead_time REAL NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX instance_constraints_project ON instance_constraints(project_id);
      CREATE INDEX instance_constraints_group ON instance_constraints(group_id);
    `,
  },
  {
    version: 6,
    name: 'the webhook host a subscription was allowed to reach (--allow-webhook-host), checked again at each delivery',
    sql: `
      ALTER TABLE subscriptions ADD COLUMN allowed_host TEXT;
    `,
  },
];

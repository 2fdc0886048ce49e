// The shared PostgreSQL store's schema, versioned as SQLite's is (migrations.ts) but numbered on
// its own: version 1 is SQLite's versions 1-3 at once (there was no PostgreSQL store before).
// The columns are SQLite's, so rows.ts maps either: JSON as text, flags as 0/1, times as ms.
// The simulated cloud's tables are not here: a sim cloud stays in the state directory's SQLite.
//
// To add a table: append a migration with its CREATE TABLE (never edit a shipped one), then its
// methods in pg-repository.ts, each one query or one `this.tx`.
import type { Migration } from './migrations.js';

export const PG_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'sessions, hosts, projects, instances, plug-ins, operations, replies, events, leases, subscriptions, outbox, requests, host claims',
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        workflow TEXT NOT NULL,
        maintenance_at BIGINT NOT NULL,
        metadata TEXT NOT NULL,
        options TEXT NOT NULL,
        driver TEXT NOT NULL,
        download TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        state_entered_at BIGINT NOT NULL,
        visit INTEGER NOT NULL DEFAULT 0,
        attempt INTEGER NOT NULL DEFAULT 0,
        failure TEXT,
        failed_state TEXT,
        discovered INTEGER NOT NULL DEFAULT 0,
        synced_at BIGINT NOT NULL DEFAULT 0,
        data TEXT NOT NULL DEFAULT '{}',
        plugin_dirs TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX sessions_state ON sessions(state);

      CREATE TABLE action_plugins (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        plugin TEXT NOT NULL,
        type TEXT NOT NULL,
        metadata TEXT NOT NULL,
        position INTEGER,
        PRIMARY KEY (session_id, seq)
      );

      CREATE TABLE hosts (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        vcpus INTEGER NOT NULL,
        vcpus_used INTEGER NOT NULL,
        memory_mb INTEGER,
        memory_mb_used INTEGER,
        state TEXT NOT NULL,
        wave INTEGER,
        step INTEGER NOT NULL DEFAULT 0,
        cause TEXT,
        since BIGINT NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        disabled_before INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, name)
      );

      CREATE TABLE projects (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        policy TEXT NOT NULL DEFAULT 'ask',
        state TEXT,
        visit INTEGER NOT NULL DEFAULT -1,
        wave INTEGER,
        reply_state TEXT,
        reply_at BIGINT,
        replied_at BIGINT,
        PRIMARY KEY (session_id, project_id)
      );

      CREATE TABLE instances (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        instance_id TEXT NOT NULL,
        name TEXT NOT NULL,
        project_id TEXT NOT NULL,
        host TEXT NOT NULL,
        vcpus INTEGER NOT NULL,
        memory_mb INTEGER,
        floating_ip INTEGER NOT NULL,
        wave INTEGER,
        target TEXT,
        action TEXT,
        action_done INTEGER NOT NULL DEFAULT 0,
        project_state TEXT,
        replaced_id TEXT,
        PRIMARY KEY (session_id, instance_id)
      );
      CREATE INDEX instances_question ON instances(session_id, project_id, wave);

      CREATE TABLE operations (
        id BIGSERIAL PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        key TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        check_at BIGINT,
        deadline BIGINT,
        cause TEXT,
        result TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (session_id, key, attempt)
      );
      CREATE INDEX operations_status ON operations(session_id, status);

      CREATE TABLE replies (
        id BIGSERIAL PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        state TEXT NOT NULL,
        instance_actions TEXT NOT NULL,
        received_at BIGINT NOT NULL
      );
      CREATE INDEX replies_session ON replies(session_id, id);

      CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        session_id TEXT,
        time BIGINT NOT NULL,
        event_type TEXT NOT NULL,
        message_id TEXT NOT NULL,
        payload TEXT NOT NULL
      );
      CREATE INDEX events_session ON events(session_id, id);

      -- One replica at a time runs a session; every write of its runner names the epoch it holds.
      CREATE TABLE leases (
        session_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        expires_at BIGINT NOT NULL,
        epoch INTEGER NOT NULL
      );

      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

      CREATE TABLE subscriptions (
        id BIGSERIAL PRIMARY KEY,
        project_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        url TEXT,
        format TEXT NOT NULL,
        session_id TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX subscriptions_project ON subscriptions(project_id, event_type);

      -- The outbox; claimed_by/claimed_until: the replica delivering it now (claimed with SKIP LOCKED).
      CREATE TABLE deliveries (
        id BIGSERIAL PRIMARY KEY,
        event_id BIGINT NOT NULL,
        subscription_id BIGINT NOT NULL,
        session_id TEXT,
        url TEXT NOT NULL,
        format TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        delivered_at BIGINT,
        claimed_by TEXT,
        claimed_until BIGINT
      );
      CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
      CREATE INDEX deliveries_line ON deliveries(subscription_id, status, id);
      CREATE INDEX deliveries_session ON deliveries(session_id);

      CREATE TABLE requests (
        id BIGSERIAL PRIMARY KEY,
        session_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        done_at BIGINT,
        result TEXT
      );

      CREATE TABLE host_claims (
        infrastructure TEXT NOT NULL,
        host TEXT NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        PRIMARY KEY (infrastructure, host)
      );
      CREATE INDEX host_claims_session ON host_claims(session_id);

      CREATE TABLE plugin_runs (
        id BIGSERIAL PRIMARY KEY,
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
        started_at BIGINT NOT NULL,
        ended_at BIGINT
      );
      CREATE INDEX plugin_runs_session ON plugin_runs(session_id, host, plugin);
    `,
  },
  {
    version: 2,
    name: 'releases, clusters, their hosts and operations, notifications, application constraints (SQLite versions 4 and 5)',
    sql: `
      CREATE TABLE releases (
        name TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        can_update_from TEXT NOT NULL DEFAULT '[]',
        compatible_with TEXT,
        repo_source TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL
      );

      CREATE TABLE clusters (
        name TEXT PRIMARY KEY,
        cloud TEXT,
        current_release TEXT NOT NULL REFERENCES releases(name),
        pending_release TEXT REFERENCES releases(name),
        status TEXT NOT NULL,
        session_id TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE cluster_hosts (
        cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        host TEXT NOT NULL,
        release TEXT NOT NULL REFERENCES releases(name),
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (cluster, host)
      );
      CREATE INDEX cluster_hosts_host ON cluster_hosts(host);

      -- Kept after its session is deleted (a rollback names it): no foreign key to sessions.
      CREATE TABLE cluster_operations (
        session_id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        from_release TEXT NOT NULL,
        to_release TEXT NOT NULL,
        rollback_of TEXT,
        rollback_session TEXT,
        auto_rollback INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX cluster_operations_cluster ON cluster_operations(cluster);

      CREATE TABLE notifications (
        id BIGSERIAL PRIMARY KEY,
        topic TEXT NOT NULL,
        message TEXT NOT NULL,
        cluster TEXT,
        host TEXT,
        session_id TEXT,
        time BIGINT NOT NULL
      );
      CREATE INDEX notifications_cluster ON notifications(cluster, id);

      -- Seconds as DOUBLE PRECISION: SQLite's REAL is 8 bytes, PostgreSQL's REAL only 4.
      CREATE TABLE instance_groups (
        group_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        group_name TEXT NOT NULL DEFAULT '',
        anti_affinity_group INTEGER NOT NULL DEFAULT 0,
        max_instances_per_host INTEGER NOT NULL DEFAULT 0,
        max_impacted_members INTEGER NOT NULL DEFAULT 1,
        recovery_time DOUBLE PRECISION NOT NULL DEFAULT 0,
        resource_mitigation INTEGER NOT NULL DEFAULT 0,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX instance_groups_project ON instance_groups(project_id);

      CREATE TABLE instance_constraints (
        instance_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        group_id TEXT,
        instance_name TEXT NOT NULL DEFAULT '',
        max_interruption_time DOUBLE PRECISION,
        migration_type TEXT,
        resource_mitigation INTEGER NOT NULL DEFAULT 0,
        lead_time DOUBLE PRECISION NOT NULL DEFAULT 0,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX instance_constraints_project ON instance_constraints(project_id);
      CREATE INDEX instance_constraints_group ON instance_constraints(group_id);
    `,
  },
  {
    version: 3,
    name: 'the webhook host a subscription was allowed to reach (--allow-webhook-host), checked again at each delivery',
    sql: `
      ALTER TABLE subscriptions ADD COLUMN allowed_host TEXT;
    `,
  },
];

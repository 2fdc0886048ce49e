# fish completion for maintctl
# Install: copy this file to ~/.config/fish/completions/maintctl.fish
# (or /usr/share/fish/vendor_completions.d/).

# The words before the cursor that are neither options nor option values.
function __maintctl_args
    set -l skip
    for t in (commandline -opc)[2..-1]
        if set -q skip[1]
            set -e skip
            continue
        end
        switch $t
            case -o --output --state-dir --cloud -f --file --hosts --at --workflow --metadata --action \
                --download --reply-timeout --scale-in-timeout --max-parallel --parallel --max-migrations \
                --unsubscribed --timeout --timing --speed \
                --state --all-actions --url --event --format --session --policy --hook \
                --endpoint --token --host --port --tokens --auth --public-url --max-body --tls-cert --tls-key \
                --allow-webhook-host --listen --store --lease-time --from --to --cluster --release --version --can-update-from --compatible-with \
                --repo-source --topic
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

# True when those words are exactly $argv (with "+": start with $argv).
function __maintctl_is
    set -l args (__maintctl_args)
    if test "$argv[-1]" = +
        set -e argv[-1]
        set args $args[1..(count $argv)]
    end
    test "$args" = "$argv"
end

# Session ids, from the state directory given on the command line if there is one.
function __maintctl_sessions
    set -l tokens (commandline -opc)
    set -l dir (string replace -rf -- '^--state-dir=' '' $tokens)
    set -l i (contains -i -- --state-dir $tokens)
    and test $i -lt (count $tokens)
    and set dir $tokens[(math $i + 1)]
    set -l state
    set -q dir[1]; and set state --state-dir (string replace -r -- '^~' $HOME $dir[-1])
    $tokens[1] $state __complete sessions 2>/dev/null
end

# For a KEY=VALUE value being typed: KEY= followed by each of $argv (nothing before the "=").
function __maintctl_after_eq
    set -l token (string replace -r -- '^--[a-z-]+=' '' (commandline -ct))
    string match -q -- '*=*' $token; or return
    set -l key (string replace -r -- '=[^=]*$' '=' $token)
    printf '%s\n' $key$argv
end

# After --hook STATE=: STATE= followed by the file names that complete the command.
function __maintctl_hook_command
    set -l command (string replace -r -- '^(--hook=)?[A-Z_]*=' '' (commandline -ct))
    __maintctl_after_eq (__fish_complete_path $command)
end

complete -c maintctl -f

# Global options (accepted before or after the command).
complete -c maintctl -s o -l output -x -a 'table json yaml' -d 'output format'
complete -c maintctl -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'state directory of the embedded engine'
complete -c maintctl -l no-color -d 'no colour in output'
complete -c maintctl -l endpoint -x -d 'a maintctl serve to work with instead of the state directory'
complete -c maintctl -l token -x -d 'the token sent to --endpoint'
complete -c maintctl -s h -l help -d 'show help'
complete -c maintctl -s V -l version -d 'print the version'

# Commands.
complete -c maintctl -n '__maintctl_is' -a session -d 'create, follow and manage maintenance sessions'
complete -c maintctl -n '__maintctl_is' -a project -d 'what applications see and answer: notifications, questions, replies'
complete -c maintctl -n '__maintctl_is' -a release -d 'releases clusters are updated to'
complete -c maintctl -n '__maintctl_is' -a cluster -d 'clusters of hosts on a release'
complete -c maintctl -n '__maintctl_is' -a notifications -d 'notifications about clusters, hosts and sessions'
complete -c maintctl -n '__maintctl_is' -a store -d 'copy sessions between a state directory and a shared PostgreSQL'
complete -c maintctl -n '__maintctl_is' -a serve -d 'run the engine behind the Fenix REST API'
complete -c maintctl -n '__maintctl_is' -a demo -d 'run a complete rolling maintenance on a simulated cloud'
complete -c maintctl -n '__maintctl_is' -a engine -d 'run the sessions of the state directory until none is active'
complete -c maintctl -n '__maintctl_is' -a version -d 'print the version of maintctl'
complete -c maintctl -n '__maintctl_is' -a completion -d 'print the completion script for bash, zsh or fish'
complete -c maintctl -n '__maintctl_is' -a help -d 'show help for a command'
complete -c maintctl -n '__maintctl_is help' -a 'session project release cluster notifications store serve demo engine version completion'
complete -c maintctl -n '__maintctl_is completion' -a 'bash zsh fish'

# maintctl session <verb>
complete -c maintctl -n '__maintctl_is session' -a create -d 'start a maintenance session'
complete -c maintctl -n '__maintctl_is session' -a 'list ls' -d 'list maintenance sessions'
complete -c maintctl -n '__maintctl_is session' -a show -d 'show a session'
complete -c maintctl -n '__maintctl_is session' -a events -d 'print the events of a session, and follow new ones'
complete -c maintctl -n '__maintctl_is session' -a 'delete rm' -d 'stop and delete a session'
complete -c maintctl -n '__maintctl_is session' -a update -d 'continue a MAINTENANCE_FAILED session'
complete -c maintctl -n '__maintctl_is session' -a logs -d 'show the output of the plug-ins of a session'
complete -c maintctl -n '__maintctl_is session' -a rollback -d 'roll back a failed or done update of a cluster'
complete -c maintctl -n '__maintctl_is session' -a help -d 'show help for a session command'
complete -c maintctl -n '__maintctl_is session help' -a 'create list show events delete update logs rollback'
for verb in show events delete rm update logs rollback
    complete -c maintctl -n "__maintctl_is session $verb" -a '(__maintctl_sessions)' -d 'session'
end

# maintctl session create
set -l create '__maintctl_is session create +'
complete -c maintctl -n $create -l hosts -x -d 'hosts to maintain, a,b,... (default: every host)'
complete -c maintctl -n $create -l at -x -d 'when maintenance starts (UTC or ISO 8601)'
complete -c maintctl -n $create -l workflow -x -a default -d 'workflow to run'
complete -c maintctl -n $create -l metadata -x -d 'KEY=VALUE for projects and plug-ins (repeatable)'
complete -c maintctl -n $create -l action -x -d 'TYPE:PLUGIN[:K=V,...] action plug-in (repeatable)'
complete -c maintctl -n $create -l download -x -d 'software to download for the plug-ins (repeatable)'
complete -c maintctl -n $create -l plugin-dir -x -a '(__fish_complete_directories)' -d 'directory of plug-in executables (repeatable)'
complete -c maintctl -n $create -l cloud -r -F -d 'simulated cloud file to maintain'
complete -c maintctl -n $create -l reply-timeout -x -d 'time each project has to answer'
complete -c maintctl -n $create -l scale-in-timeout -x -d 'time to answer SCALE_IN and MAINTENANCE_COMPLETE'
complete -c maintctl -n $create -l max-parallel -x -a auto -d 'hosts in flight at once, or auto: as free capacity allows'
complete -c maintctl -n $create -l parallel -x -a auto -d 'old name of --max-parallel'
complete -c maintctl -n $create -l max-migrations -x -d 'moves (migrations, live migrations) under way at once'
complete -c maintctl -n $create -l unsubscribed -x -a 'fail migrate live_migrate (__maintctl_after_eq fail migrate live_migrate)' -d '[PROJECT=]POLICY for projects nobody answers for (repeatable)'
complete -c maintctl -n $create -s f -l file -r -F -d 'the whole request as Fenix JSON'
complete -c maintctl -n $create -l wait -d 'follow the session to its end'
complete -c maintctl -n $create -l timeout -x -d 'with --wait: give up after this long'
complete -c maintctl -n $create -l dry-run -d 'rehearse on a read-only copy of the infrastructure; nothing changes'
complete -c maintctl -n $create -l timing -x -a 'migrate= live_migrate= host= plugin=' -d 'with --dry-run: KEY=DURATION,... simulated durations'

# maintctl session show|delete|rm|update|logs
complete -c maintctl -n '__maintctl_is session show +' -l instances -d 'also list every instance'
complete -c maintctl -n '__maintctl_is session show +' -s w -l watch -d 'follow the session until it ends'
complete -c maintctl -n '__maintctl_is session delete +; or __maintctl_is session rm +' -l keep-disabled -d 'leave the hosts this session disabled disabled'
set -l states 'MAINTENANCE SCALE_IN PREPARE_MAINTENANCE START_MAINTENANCE PLANNED_MAINTENANCE MAINTENANCE_COMPLETE MAINTENANCE_DONE MAINTENANCE_FAILED'
complete -c maintctl -n '__maintctl_is session list +; or __maintctl_is session ls +' -l state -x -a $states -d 'only sessions in this state'
complete -c maintctl -n '__maintctl_is session events +' -l follow -d 'go on printing new events until the session ends'
set -l update '__maintctl_is session update +'
complete -c maintctl -n $update -l reply-timeout -x -d 'time each project has to answer, from now on'
complete -c maintctl -n $update -l scale-in-timeout -x -d 'time to answer SCALE_IN and MAINTENANCE_COMPLETE, from now on'
complete -c maintctl -n $update -l max-parallel -x -a auto -d 'hosts in flight at once, or auto'
complete -c maintctl -n $update -l unsubscribed -x -a 'fail migrate live_migrate (__maintctl_after_eq fail migrate live_migrate)' -d '[PROJECT=]POLICY for projects nobody answers for (repeatable)'
complete -c maintctl -n $update -l cloud -r -F -d 'reload the faults and timing of the sim cloud from this file'
complete -c maintctl -n '__maintctl_is session update +' -l wait -d 'follow the session to its end'
complete -c maintctl -n '__maintctl_is session update +' -l timeout -x -d 'with --wait: give up after this long'
complete -c maintctl -n '__maintctl_is session logs +' -l host -x -d 'only the runs on this host'
complete -c maintctl -n '__maintctl_is session logs +' -l plugin -x -d 'only the runs of this plug-in'
complete -c maintctl -n '__maintctl_is session logs +' -s f -l follow -d 'keep printing output until the session ends'

complete -c maintctl -n '__maintctl_is session create +' -l cluster -x -d "maintain this cluster's hosts"
complete -c maintctl -n '__maintctl_is session create +' -l release -x -d 'with --cluster: update or downgrade it to this release'
complete -c maintctl -n '__maintctl_is session create +' -l auto-rollback -d 'with --release: roll back by itself if the session fails'
complete -c maintctl -n '__maintctl_is session rollback +' -l wait -d 'follow the rollback to its end'
complete -c maintctl -n '__maintctl_is session rollback +' -l timeout -x -d 'with --wait: give up after this long'

# maintctl release <verb>, maintctl cluster <verb>, maintctl notifications
complete -c maintctl -n '__maintctl_is release' -a add -d 'add a release'
complete -c maintctl -n '__maintctl_is release' -a 'list ls' -d 'list releases'
complete -c maintctl -n '__maintctl_is release' -a show -d 'show a release'
complete -c maintctl -n '__maintctl_is release' -a 'delete rm' -d 'delete a release no cluster uses'
complete -c maintctl -n '__maintctl_is release' -a help -d 'show help for a release command'
complete -c maintctl -n '__maintctl_is release help' -a 'add list show delete'
complete -c maintctl -n '__maintctl_is release add +' -l version -x -d 'its version'
complete -c maintctl -n '__maintctl_is release add +' -l can-update-from -x -d 'versions it updates from (v1,v2,...)'
complete -c maintctl -n '__maintctl_is release add +' -l compatible-with -x -d 'maintctl versions it works with'
complete -c maintctl -n '__maintctl_is release add +' -l repo-source -x -d 'where its packages are'
complete -c maintctl -n '__maintctl_is release add +' -l metadata -x -d 'what it brings: KEY=VALUE (repeatable)'
complete -c maintctl -n '__maintctl_is cluster' -a create -d 'create a cluster'
complete -c maintctl -n '__maintctl_is cluster' -a 'list ls' -d 'list clusters'
complete -c maintctl -n '__maintctl_is cluster' -a show -d 'show a cluster'
complete -c maintctl -n '__maintctl_is cluster' -a help -d 'show help for a cluster command'
complete -c maintctl -n '__maintctl_is cluster help' -a 'create list show'
complete -c maintctl -n '__maintctl_is cluster create +' -l release -x -d 'the release its hosts run now'
complete -c maintctl -n '__maintctl_is cluster create +' -l hosts -x -d 'its hosts (a,b,...)'
complete -c maintctl -n '__maintctl_is cluster create +' -l cloud -r -F -d 'the cloud its sessions run on'
complete -c maintctl -n '__maintctl_is notifications +' -l cluster -x -d "only this cluster's"
complete -c maintctl -n '__maintctl_is notifications +' -l topic -x -a 'discover done error warning' -d 'only this topic'
complete -c maintctl -n '__maintctl_is notifications +' -l follow -d 'go on printing new ones'

# maintctl store <verb>
complete -c maintctl -n '__maintctl_is store' -a copy -d 'copy every session and its history into another store'
complete -c maintctl -n '__maintctl_is store' -a help -d 'show help for a store command'
complete -c maintctl -n '__maintctl_is store help' -a copy
complete -c maintctl -n '__maintctl_is store copy +' -l from -r -F -d 'a state directory or postgres://USER@HOST/DB'
complete -c maintctl -n '__maintctl_is store copy +' -l to -r -F -d 'a state directory or postgres://USER@HOST/DB'

# maintctl serve, maintctl demo, maintctl engine
complete -c maintctl -n '__maintctl_is serve +' -l cloud -r -F -d 'openstack, openstack:NAME or a sim cloud file'
complete -c maintctl -n '__maintctl_is serve +' -l host -x -d 'address to listen on'
complete -c maintctl -n '__maintctl_is serve +' -l port -x -d 'port to listen on (0: any free one)'
complete -c maintctl -n '__maintctl_is serve +' -l tokens -r -F -d 'admin and project tokens (JSON file)'
complete -c maintctl -n '__maintctl_is serve +' -l auth -x -a keystone -d "check tokens against the cloud's Keystone"
complete -c maintctl -n '__maintctl_is serve +' -l public-url -x -d 'the URL VNFMs reach this server at'
complete -c maintctl -n '__maintctl_is serve +' -l max-body -x -d 'largest request body accepted, in bytes'
complete -c maintctl -n '__maintctl_is serve +' -l tls-cert -r -F -d 'PEM certificate to serve HTTPS with'
complete -c maintctl -n '__maintctl_is serve +' -l tls-key -r -F -d 'PEM private key of --tls-cert'
complete -c maintctl -n '__maintctl_is serve +' -l allow-webhook-host -x -d 'let webhooks reach this link-local or metadata host'
complete -c maintctl -n '__maintctl_is serve +' -l store -x -d 'a shared PostgreSQL, postgres://USER@HOST/DB'
complete -c maintctl -n '__maintctl_is serve +' -l lease-time -x -d 'seconds a replica holds a session unrenewed'
complete -c maintctl -n '__maintctl_is demo +' -l cloud -r -F -d 'maintain this sim cloud file'
complete -c maintctl -n '__maintctl_is demo +' -l speed -x -d 'simulated seconds per real second (0 = as fast as possible)'
complete -c maintctl -n '__maintctl_is engine +' -l virtual-clock -d 'run on simulated time that jumps to the next timer'
complete -c maintctl -n '__maintctl_is engine +' -l listen -x -d 'also serve the API on this loopback HOST:PORT'
complete -c maintctl -n '__maintctl_is engine +' -l store -x -d 'a shared PostgreSQL, postgres://USER@HOST/DB'

# maintctl project <verb>
complete -c maintctl -n '__maintctl_is project' -a show -d 'show what a session asks of a project now'
complete -c maintctl -n '__maintctl_is project' -a reply -d 'answer the current question of a session for a project'
complete -c maintctl -n '__maintctl_is project' -a subscribe -d 'tell a project about maintenance (webhook or maintctl)'
complete -c maintctl -n '__maintctl_is project' -a unsubscribe -d "remove a project's subscriptions"
complete -c maintctl -n '__maintctl_is project' -a subscriptions -d 'list subscriptions'
complete -c maintctl -n '__maintctl_is project' -a agent -d "act as the project's VNFM, answering by policy"
complete -c maintctl -n '__maintctl_is project' -a constraints -d "list a project's application constraints"
complete -c maintctl -n '__maintctl_is project' -a constrain-group -d 'declare an instance group and how much disruption it takes'
complete -c maintctl -n '__maintctl_is project' -a constrain-instance -d "declare an instance's constraints"
complete -c maintctl -n '__maintctl_is project' -a unconstrain -d "remove a project's instance groups and instance constraints"
complete -c maintctl -n '__maintctl_is project' -a help -d 'show help for a project command'
complete -c maintctl -n '__maintctl_is project help' -a 'show reply subscribe unsubscribe subscriptions agent constraints constrain-group constrain-instance unconstrain'
for verb in show reply
    complete -c maintctl -n "__maintctl_is project $verb" -a '(__maintctl_sessions)' -d 'session'
end

# maintctl project reply SESSION PROJECT
set -l reply '__maintctl_is project reply +'
complete -c maintctl -n $reply -l ack -d 'acknowledge the current state'
complete -c maintctl -n $reply -l nack -d 'reject the current state (the session fails)'
complete -c maintctl -n $reply -l state -x -d 'the reply state in full: ACK_X or NACK_X'
complete -c maintctl -n $reply -l action -x -a '(__maintctl_after_eq MIGRATE LIVE_MIGRATE OWN_ACTION)' -d 'INSTANCE=ACTION for one instance (repeatable)'
complete -c maintctl -n $reply -l all-actions -x -a 'MIGRATE LIVE_MIGRATE OWN_ACTION' -d 'the same action for every affected instance'

# maintctl project subscribe|unsubscribe PROJECT, maintctl project subscriptions [PROJECT]
set -l events 'maintenance.planned maintenance.scheduled maintenance.host maintenance.session maintctl.notification'
for verb in subscribe unsubscribe
    complete -c maintctl -n "__maintctl_is project $verb +" -l url -x -d 'webhook URL'
    complete -c maintctl -n "__maintctl_is project $verb +" -l event -x -a $events -d 'event type'
    complete -c maintctl -n "__maintctl_is project $verb +" -l session -x -a '(__maintctl_sessions)' -d 'only this session'
end
complete -c maintctl -n '__maintctl_is project subscribe +' -l format -x -a 'fenix aodh' -d 'body of the POST: fenix (oslo envelope) or aodh (event alarm)'
complete -c maintctl -n '__maintctl_is project subscribe +' -l allow-webhook-host -x -d 'let --url reach this link-local or metadata host'

# maintctl project constrain-group PROJECT GROUP, constrain-instance PROJECT INSTANCE, unconstrain PROJECT
set -l cgroup '__maintctl_is project constrain-group +'
complete -c maintctl -n $cgroup -l name -x -d 'group name'
complete -c maintctl -n $cgroup -l max-impacted -x -d 'members moved or recovering at once (0: none)'
complete -c maintctl -n $cgroup -l recovery-time -x -d 'how long a member recovers after its move'
complete -c maintctl -n $cgroup -l anti-affinity -d 'never two members on one host'
complete -c maintctl -n $cgroup -l max-per-host -x -d 'members on one host (0: no limit)'
complete -c maintctl -n $cgroup -l resource-mitigation -d 'the group can run on fewer resources'
complete -c maintctl -n $cgroup -l instances -x -d 'make these instances (comma-separated ids) members'
set -l cinstance '__maintctl_is project constrain-instance +'
complete -c maintctl -n $cinstance -l group -x -d 'the instance group it belongs to'
complete -c maintctl -n $cinstance -l name -x -d 'instance name'
complete -c maintctl -n $cinstance -l migration-type -x -a 'MIGRATE LIVE_MIGRATE OWN_ACTION' -d 'its action when the project names none'
complete -c maintctl -n $cinstance -l max-interruption -x -d 'longest interruption it takes'
complete -c maintctl -n $cinstance -l lead-time -x -d 'notice it needs before it is acted on'
complete -c maintctl -n $cinstance -l resource-mitigation -d 'it can run on fewer resources'
complete -c maintctl -n '__maintctl_is project unconstrain +' -l group -x -d 'an instance group to remove (repeatable)'
complete -c maintctl -n '__maintctl_is project unconstrain +' -l instance -x -d "an instance's constraints to remove (repeatable)"

# maintctl project agent PROJECT
set -l agent '__maintctl_is project agent +'
complete -c maintctl -n $agent -l session -x -a '(__maintctl_sessions)' -d 'follow this session only, until it ends'
complete -c maintctl -n $agent -l all -d 'follow every session until stopped (the default)'
complete -c maintctl -n $agent -l policy -x -a 'ack nack' -d 'how to answer'
complete -c maintctl -n $agent -l action -x -a 'MIGRATE LIVE_MIGRATE OWN_ACTION' -d 'instance action to choose'
complete -c maintctl -n $agent -l hook -x -a 'SCALE_IN= OWN_ACTION= MAINTENANCE_COMPLETE= (__maintctl_hook_command)' -d 'STATE=COMMAND run with the question on stdin (repeatable)'

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
                --download --reply-timeout --scale-in-timeout --parallel --timeout --speed
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

complete -c maintctl -f

# Global options (accepted before or after the command).
complete -c maintctl -s o -l output -x -a 'table json yaml' -d 'output format'
complete -c maintctl -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'state directory of the embedded engine'
complete -c maintctl -l no-color -d 'no colour in output'
complete -c maintctl -s h -l help -d 'show help'

# Commands.
complete -c maintctl -n '__maintctl_is' -a session -d 'create, follow and manage maintenance sessions'
complete -c maintctl -n '__maintctl_is' -a demo -d 'run a complete rolling maintenance on a simulated cloud'
complete -c maintctl -n '__maintctl_is' -a engine -d 'run the sessions of the state directory until none is active'
complete -c maintctl -n '__maintctl_is' -a help -d 'show help for a command'
complete -c maintctl -n '__maintctl_is help' -a 'session demo engine'

# maintctl session <verb>
complete -c maintctl -n '__maintctl_is session' -a create -d 'start a maintenance session'
complete -c maintctl -n '__maintctl_is session' -a 'list ls' -d 'list maintenance sessions'
complete -c maintctl -n '__maintctl_is session' -a show -d 'show a session'
complete -c maintctl -n '__maintctl_is session' -a 'delete rm' -d 'stop and delete a session'
complete -c maintctl -n '__maintctl_is session' -a update -d 'continue a MAINTENANCE_FAILED session'
complete -c maintctl -n '__maintctl_is session' -a help -d 'show help for a session command'
complete -c maintctl -n '__maintctl_is session help' -a 'create list show delete update'
for verb in show delete rm update
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
complete -c maintctl -n $create -l cloud -r -F -d 'simulated cloud file to maintain'
complete -c maintctl -n $create -l reply-timeout -x -d 'time each project has to answer'
complete -c maintctl -n $create -l scale-in-timeout -x -d 'time to answer SCALE_IN and MAINTENANCE_COMPLETE'
complete -c maintctl -n $create -l parallel -x -d 'computes maintained at once'
complete -c maintctl -n $create -s f -l file -r -F -d 'the whole request as Fenix JSON'
complete -c maintctl -n $create -l wait -d 'follow the session to its end'
complete -c maintctl -n $create -l timeout -x -d 'with --wait: give up after this long'

# maintctl session show|delete|rm|update
complete -c maintctl -n '__maintctl_is session show +' -l instances -d 'also list every instance'
complete -c maintctl -n '__maintctl_is session show +' -s w -l watch -d 'follow the session until it ends'
complete -c maintctl -n '__maintctl_is session delete +; or __maintctl_is session rm +' -l keep-disabled -d 'leave the hosts this session disabled disabled'
complete -c maintctl -n '__maintctl_is session update +' -l wait -d 'follow the session to its end'
complete -c maintctl -n '__maintctl_is session update +' -l timeout -x -d 'with --wait: give up after this long'

# maintctl demo, maintctl engine
complete -c maintctl -n '__maintctl_is demo +' -l cloud -r -F -d 'maintain this sim cloud file'
complete -c maintctl -n '__maintctl_is demo +' -l speed -x -d 'simulated seconds per real second (0 = as fast as possible)'
complete -c maintctl -n '__maintctl_is engine +' -l virtual-clock -d 'run on simulated time that jumps to the next timer'

# fish completion for maintctl
complete -c maintctl -f
complete -c maintctl -l state-dir -r -d 'state directory of the embedded engine'
complete -c maintctl -l no-color -d 'no colour in output'
complete -c maintctl -n __fish_use_subcommand -a demo -d 'run a complete rolling maintenance on a simulated cloud'
complete -c maintctl -n __fish_use_subcommand -a engine -d 'run the sessions of the state directory until none is active'
complete -c maintctl -n '__fish_seen_subcommand_from demo' -l cloud -r -F -d 'sim cloud file'
complete -c maintctl -n '__fish_seen_subcommand_from demo' -l speed -r -d 'simulated seconds per real second'
complete -c maintctl -n '__fish_seen_subcommand_from engine' -l virtual-clock -d 'run on simulated time'

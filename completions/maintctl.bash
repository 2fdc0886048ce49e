# bash completion for maintctl
# Install: source this file from ~/.bashrc, or copy it to
# ~/.local/share/bash-completion/completions/maintctl (bash-completion loads it on demand).

# Options that take a value (the value is the next word, or follows "=").
_maintctl_valued() {
  case $1 in
    -o|--output|--state-dir|--cloud|-f|--file|--hosts|--at|--workflow|--metadata|--action|--download|--plugin-dir|--plugin|\
    --reply-timeout|--scale-in-timeout|--max-parallel|--parallel|--max-migrations|--unsubscribed|--timeout|--timing|--speed|\
    --state|--all-actions|--url|--event|--format|--session|--policy|--hook|\
    --name|--max-impacted|--recovery-time|--max-per-host|--instances|--group|--instance|--migration-type|--max-interruption|--lead-time|\
    --endpoint|--token|--host|--port|--tokens|--auth|--public-url|--max-body|--tls-cert|--tls-key|--allow-webhook-host|--listen|--store|--lease-time|--from|--to|\
    --cluster|--release|--version|--can-update-from|--compatible-with|--repo-source|--hosts|--topic) return 0 ;;
  esac
  return 1
}

# Session ids matching $2, from the state directory $1 (else the default one).
_maintctl_ids() {
  local state=()
  [[ -n $1 ]] && state=(--state-dir "${1/#\~/$HOME}")
  COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${state[@]}" __complete sessions 2>/dev/null)" -- "$2"))
}

_maintctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local global="-o --output --state-dir --no-color --endpoint --token -h --help -V --version"
  local moves="MIGRATE LIVE_MIGRATE OWN_ACTION"
  local states="MAINTENANCE SCALE_IN PREPARE_MAINTENANCE START_MAINTENANCE PLANNED_MAINTENANCE MAINTENANCE_COMPLETE MAINTENANCE_DONE MAINTENANCE_FAILED"

  # The words before the cursor that are neither options nor option values;
  # a --state-dir among them is passed on to `maintctl __complete sessions`.
  # bash splits --opt=value into "--opt" "=" "value", and k=v into "k" "=" "v".
  local i w pos=() dir=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if _maintctl_valued "$w"; then
      [[ ${COMP_WORDS[i+1]} == = ]] && ((i++))
      ((i++))
      [[ $w == --state-dir ]] && dir=${COMP_WORDS[i]}
      # A value such as instance=ACTION or STATE=command goes on after its "=".
      while ((i + 2 < COMP_CWORD)) && [[ ${COMP_WORDS[i+1]} == = ]]; do ((i += 2)); done
    elif [[ $w != -* && $w != = ]]; then
      pos+=("$w")
    fi
  done

  # An option's value: the option is $prev, or for "k=" values the word before "k".
  local opt=$prev key=""
  if [[ $cur == = ]]; then
    cur=""
    [[ $prev != -* ]] && key=$prev opt=${COMP_WORDS[COMP_CWORD-2]}
  elif [[ $prev == = ]]; then
    opt=${COMP_WORDS[COMP_CWORD-2]}
    [[ $opt != -* ]] && key=$opt opt=${COMP_WORDS[COMP_CWORD-3]}
  fi
  if [[ -n $key ]]; then
    # The part after "=" of instance=ACTION, [project=]policy and STATE=command.
    case $opt in
      --action) [[ ${pos[0]} == project ]] && COMPREPLY=($(compgen -W "$moves" -- "$cur")) ;;
      --unsubscribed) COMPREPLY=($(compgen -W "fail migrate live_migrate" -- "$cur")) ;;
      --hook) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return
  fi
  case $opt in
    -o|--output) COMPREPLY=($(compgen -W "table json yaml" -- "$cur")); return ;;
    --state-dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --cloud|-f|--file|--tokens|--tls-cert|--tls-key) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --auth) COMPREPLY=($(compgen -W "keystone" -- "$cur")); return ;;
    --session) _maintctl_ids "$dir" "$cur"; return ;;
    --event) COMPREPLY=($(compgen -W "maintenance.planned maintenance.scheduled maintenance.host maintenance.session maintctl.notification" -- "$cur")); return ;;
    --topic) COMPREPLY=($(compgen -W "discover done error warning" -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "fenix aodh" -- "$cur")); return ;;
    --policy) COMPREPLY=($(compgen -W "ack nack" -- "$cur")); return ;;
    --all-actions|--migration-type) COMPREPLY=($(compgen -W "$moves" -- "$cur")); return ;;
    --workflow) COMPREPLY=($(compgen -W "default vnf" -- "$cur")); return ;;
    --action) [[ ${pos[0]} == project && ${pos[1]} == agent ]] && COMPREPLY=($(compgen -W "$moves" -- "$cur")); return ;;
    --hook) compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W "SCALE_IN= OWN_ACTION= MAINTENANCE_COMPLETE=" -- "$cur")); return ;;
    --unsubscribed) COMPREPLY=($(compgen -W "fail migrate live_migrate" -- "$cur")); return ;;
    --state) [[ ${pos[0]} == session ]] && COMPREPLY=($(compgen -W "$states" -- "$cur")); return ;;
    --max-parallel|--parallel) COMPREPLY=($(compgen -W "auto" -- "$cur")); return ;;
    --timing) compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W "migrate= live_migrate= host= plugin=" -- "$cur")); return ;;
  esac
  _maintctl_valued "$opt" && return   # a value nothing can guess

  local words="" opts="" ids=""
  case ${pos[0]} in
    "") words="session project release cluster notifications store serve demo engine version completion help" ;;
    help) ((${#pos[@]} == 1)) && words="session project release cluster notifications store serve demo engine version completion" ;;
    completion) ((${#pos[@]} == 1)) && words="bash zsh fish" ;;
    serve) opts="--cloud --host --port --tokens --auth --public-url --max-body --tls-cert --tls-key --allow-webhook-host --store --lease-time" ;;
    demo) opts="--cloud --speed" ;;
    engine) opts="--virtual-clock --listen --store" ;;
    session)
      case ${pos[1]} in
        "") words="create list ls show events delete rm update logs rollback help" ;;
        help) ((${#pos[@]} == 2)) && words="create list show events delete update logs rollback" ;;
        create) opts="--hosts --at --workflow --metadata --action --download --plugin-dir --cloud --reply-timeout
                      --scale-in-timeout --max-parallel --parallel --max-migrations --unsubscribed
                      -f --file --wait --timeout --dry-run --timing --cluster --release --auto-rollback" ;;
        list|ls) opts="--state" ;;
        show) opts="--instances -w --watch" ;;
        events) opts="--follow" ;;
        delete|rm) opts="--keep-disabled" ;;
        update) opts="--reply-timeout --scale-in-timeout --max-parallel --unsubscribed --cloud --wait --timeout" ;;
        logs) opts="--host --plugin -f --follow" ;;
        rollback) opts="--wait --timeout" ;;
      esac
      case ${pos[1]} in show|events|delete|rm|update|logs|rollback) ((${#pos[@]} == 2)) && ids=1 ;; esac ;;
    release)
      case ${pos[1]} in
        "") words="add list ls show delete rm help" ;;
        help) ((${#pos[@]} == 2)) && words="add list show delete" ;;
        add) opts="--version --can-update-from --compatible-with --repo-source --metadata" ;;
      esac ;;
    cluster)
      case ${pos[1]} in
        "") words="create list ls show help" ;;
        help) ((${#pos[@]} == 2)) && words="create list show" ;;
        create) opts="--release --hosts --cloud" ;;
      esac ;;
    notifications) opts="--cluster --topic --follow" ;;
    store)
      case ${pos[1]} in
        "") words="copy help" ;;
        help) ((${#pos[@]} == 2)) && words="copy" ;;
        copy) opts="--from --to" ;;
      esac ;;
    project)
      case ${pos[1]} in
        "") words="show reply subscribe unsubscribe subscriptions agent constraints constrain-group constrain-instance unconstrain help" ;;
        help) ((${#pos[@]} == 2)) && words="show reply subscribe unsubscribe subscriptions agent constraints constrain-group constrain-instance unconstrain" ;;
        reply) opts="--ack --nack --state --action --all-actions" ;;
        subscribe) opts="--url --event --format --session --allow-webhook-host" ;;
        unsubscribe) opts="--url --event --session" ;;
        agent) opts="--session --all --policy --action --hook" ;;
        constrain-group) opts="--name --max-impacted --recovery-time --anti-affinity --max-per-host --resource-mitigation --instances" ;;
        constrain-instance) opts="--group --name --migration-type --max-interruption --lead-time --resource-mitigation" ;;
        unconstrain) opts="--group --instance" ;;
      esac
      case ${pos[1]} in show|reply) ((${#pos[@]} == 2)) && ids=1 ;; esac ;;
  esac

  if [[ $cur == -* || (-z $words && -z $ids) ]]; then
    COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
  elif [[ -n $ids ]]; then
    _maintctl_ids "$dir" "$cur"
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _maintctl maintctl

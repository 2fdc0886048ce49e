# bash completion for maintctl
# Install: source this file from ~/.bashrc, or copy it to
# ~/.local/share/bash-completion/completions/maintctl (bash-completion loads it on demand).

# Options that take a value (the value is the next word, or follows "=").
_maintctl_valued() {
  case $1 in
    -o|--output|--state-dir|--cloud|-f|--file|--hosts|--at|--workflow|--metadata|--action|--download|\
    --reply-timeout|--scale-in-timeout|--parallel|--timeout|--speed) return 0 ;;
  esac
  return 1
}

_maintctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local global="-o --output --state-dir --no-color -h --help"

  # bash splits --opt=value into "--opt" "=" "value".
  if [[ $cur == = ]]; then cur=""; elif [[ $prev == = ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi
  case $prev in
    -o|--output) COMPREPLY=($(compgen -W "table json yaml" -- "$cur")); return ;;
    --state-dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --cloud|-f|--file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  _maintctl_valued "$prev" && return   # a value nothing can guess

  # The words before the cursor that are neither options nor option values;
  # a --state-dir among them is passed on to `maintctl __complete sessions`.
  local i w pos=() dir=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if _maintctl_valued "$w"; then
      [[ ${COMP_WORDS[i+1]} == = ]] && ((i++))
      ((i++))
      [[ $w == --state-dir ]] && dir=${COMP_WORDS[i]}
    elif [[ $w != -* && $w != = ]]; then
      pos+=("$w")
    fi
  done

  local words="" opts="" ids=""
  case ${pos[0]} in
    "") words="session demo engine help" ;;
    help) ((${#pos[@]} == 1)) && words="session demo engine" ;;
    demo) opts="--cloud --speed" ;;
    engine) opts="--virtual-clock" ;;
    session)
      case ${pos[1]} in
        "") words="create list ls show delete rm update help" ;;
        help) ((${#pos[@]} == 2)) && words="create list show delete update" ;;
        create) opts="--hosts --at --workflow --metadata --action --download --cloud --reply-timeout
                      --scale-in-timeout --parallel -f --file --wait --timeout" ;;
        show) opts="--instances -w --watch" ;;
        delete|rm) opts="--keep-disabled" ;;
        update) opts="--wait --timeout" ;;
      esac
      case ${pos[1]} in show|delete|rm|update) ((${#pos[@]} == 2)) && ids=1 ;; esac ;;
  esac

  if [[ $cur == -* || (-z $words && -z $ids) ]]; then
    COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
  elif [[ -n $ids ]]; then
    local state=()
    [[ -n $dir ]] && state=(--state-dir "${dir/#\~/$HOME}")
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${state[@]}" __complete sessions 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _maintctl maintctl

# bash completion for maintctl
_maintctl() {
  local cur prev words cword
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local commands="demo engine"
  local global="--state-dir --no-color --help"
  case "$prev" in
    --state-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --cloud) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --speed) return ;;
  esac
  local cmd="" w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in demo|engine) cmd="$w" ;; esac
  done
  case "$cmd" in
    demo) COMPREPLY=($(compgen -W "--cloud --speed --help" -- "$cur")) ;;
    engine) COMPREPLY=($(compgen -W "--virtual-clock --help" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$commands $global" -- "$cur")) ;;
  esac
}
complete -F _maintctl maintctl

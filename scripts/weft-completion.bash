# scripts/weft-completion.bash — bash completion for the weft command.
# Installed to share/bash-completion/completions/weft; in the tree:
#   source scripts/weft-completion.bash
# Completes the commands, `weft run`'s options (and files after -a, ::::,
# --joblog, --results), the bench suites and flags, and `weft help`'s topics.

_weft_run_opts="-j --jobs -k --keep-order --line-buffer --lb -u --ungroup --tag
  -a --arg-file -0 --null -C --colsep --link --timeout --retries --halt --delay
  --joblog --resume --resume-failed --results --bar --progress --eta --dry-run
  --shuf -q --quote --help --version ::: :::: :::+ ::::+"

_weft() {
  local cur prev cmd i
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "run info bench tour trace help --help --version" -- "$cur"))
    return
  fi
  cmd="${COMP_WORDS[1]}"
  case "$cmd" in
    run)
      case "$prev" in
        -a|--arg-file|::::|::::+|--joblog|--results)
          COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -j|--jobs|--timeout|--retries|--delay|-C|--colsep) return ;;
        --halt) COMPREPLY=($(compgen -W "now,fail=1 soon,fail=1 now,success=1 now,done=1" -- "$cur")); return ;;
      esac
      # after ::: come values, and the command's own words: files then
      for ((i = 2; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == ::: || ${COMP_WORDS[i]} == :::+ ]]; then
          COMPREPLY=($(compgen -f -- "$cur")); return
        fi
      done
      if [[ $cur == -* || $cur == :* ]]; then
        COMPREPLY=($(compgen -W "$_weft_run_opts" -- "$cur"))
      else
        COMPREPLY=($(compgen -c -- "$cur"))
      fi ;;
    bench)
      COMPREPLY=($(compgen -W "pool proc aio run --json --markdown --quick --reps --threads --only --help" -- "$cur")) ;;
    trace)
      if [[ $COMP_CWORD -eq 2 ]]; then
        COMPREPLY=($(compgen -W "report top check" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
      fi ;;
    help)
      [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "run info bench tour trace help" -- "$cur")) ;;
  esac
}
complete -F _weft weft

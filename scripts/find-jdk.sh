# shellcheck shell=bash
# tandem_find_java: prints the path of a `java` >= 25, or explains on stderr what it found.
# Order: $JAVA_HOME, `java` on PATH, then the usual JVM folders.
tandem_java_major() {
  local v
  v="$("$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

tandem_find_java() {
  local min=25 found=() c major
  local candidates=()
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for d in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
           /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [[ -x "$d/bin/java" ]] && candidates+=("$d/bin/java")
  done
  for c in "${candidates[@]}"; do
    major="$(tandem_java_major "$c")"
    if (( major >= min )); then
      echo "$c"
      return 0
    fi
    found+=("$c (Java $major)")
  done
  {
    echo "tandem: needs a JDK >= $min. Set JAVA_HOME to one (Debian/Ubuntu: a Temurin 25 package)."
    if ((${#found[@]})); then
      echo "  found only:"; printf '    %s\n' "${found[@]}"
    else
      echo "  found no java at all (looked at \$JAVA_HOME, PATH, /usr/lib/jvm, /opt/java, ~/.sdkman)"
    fi
  } >&2
  return 1
}

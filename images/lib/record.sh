# shellcheck shell=bash
# What a build made (image ID, Debian release, every package version) is written to the build's
# cache, .tools/NAME/BUILD.txt; the BUILD.txt committed beside the build script is the record of the
# image the project was last tested with. A build compares the two and says when they differ, so
# that a change in Debian's packages shows without a build ever rewriting a tracked file.
#
#   record_compare NEW_RECORD COMMITTED_RECORD SAY_FUNCTION

record_compare() {
  local new="$1" committed="$2" say="$3" changed
  if [ ! -f "$committed" ]; then
    "$say" "recorded in $new (no committed record at $committed)"
    return
  fi
  # The comment lines name the writer; image IDs differ on every machine that builds.
  changed="$(diff <(grep -v -e '^#' -e '^image-id:' -e '^rootfs-image:' "$committed") \
    <(grep -v -e '^#' -e '^image-id:' -e '^rootfs-image:' "$new") | grep -c '^[<>]' || true)"
  if [ "$changed" = 0 ]; then
    "$say" "recorded in $new: the same packages as the committed $committed"
  else
    "$say" "recorded in $new: $changed line(s) differ from the committed $committed" \
      "(diff them; copy it there when the change is meant)"
  fi
}

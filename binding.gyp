{
  "targets": [
    {
      "target_name": "pmemdax",
      "sources": [
        "native/addon.cpp",
        "native/constants.cpp",
        "native/errors.cpp",
        "native/cpu.cpp",
        "native/crc32c.cpp",
        "native/crc32c_sse42.cpp",
        "native/journal_scan.cpp",
        "native/journal_touches.cpp",
        "native/flush.cpp",
        "native/flush_x86.cpp",
        "native/memcpy_nt.cpp",
        "native/memcpy_nt_sse2.cpp",
        "native/memcpy_nt_avx2.cpp",
        "native/memcpy_nt_avx512.cpp",
        "native/source.cpp",
        "native/mapping.cpp",
        "native/badblocks.cpp",
        "native/sigbus.cpp",
        "native/guarded_store.cpp",
        "native/write_trap.cpp",
        "native/region.cpp",
        "native/args.cpp",
        "native/file_lock.cpp",
        "native/in_place_watch.cpp",
        "native/recovery_write.cpp",
        "native/deep_flush_linux.cpp",
        "native/persist.cpp",
        "native/hot_path.cpp",
        "native/tree_search.cpp",
        "native/name_strings.cpp",
        "native/io_pool.cpp",
        "native/persist_async.cpp",
        "native/device_open.cpp",
        "native/device.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "_GNU_SOURCE"],
      # nodelete: Node unloads a worker thread's addons when it ends; the I/O threads and the signal handlers
      # run code of this one for the life of the process, so it stays mapped.
      "ldflags": ["-Wl,-z,nodelete"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-O2"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}

# New-DaxFsImage: the cmdlet surface over the engine's writer (the engine's own rules are tested in xunit).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:IsRoot = (id -u) -eq '0'

    # The basic tree of tests/vectors/make-trees.sh, made with PowerShell (owners need root).
    function New-BasicTree([string] $Root) {
        $t = Join-Path $Root 'basic'
        New-Item -ItemType Directory "$t/a/b/c", "$t/emptydir" -Force | Out-Null
        Set-Content -NoNewline "$t/empty" -Value ''
        Set-Content -NoNewline "$t/one" -Value 'x'
        [IO.File]::WriteAllBytes("$t/exact4096", (Get-VectorBytes 4096 'four'))
        [IO.File]::WriteAllBytes("$t/a/five000", (Get-VectorBytes 5000 'five'))
        Set-Content -NoNewline "$t/a/b/c/hello.txt" -Value "hello, daxfs`n"
        New-Item -ItemType SymbolicLink "$t/rel-link" -Target 'a/b/c/hello.txt' | Out-Null
        New-Item -ItemType SymbolicLink "$t/abs-link" -Target '/etc/hostname' | Out-Null
        Set-Content -NoNewline "$t/hard1" -Value "shared`n"
        New-Item -ItemType HardLink "$t/a/hard2" -Target "$t/hard1" | Out-Null
        Set-Content -NoNewline "$t/$('L' * 255)" -Value "long`n"
        Set-Content -NoNewline "$t/päivää-日本" -Value "utf8`n"
        Set-Content -NoNewline "$t/private" -Value "secret`n"; chmod 0600 "$t/private"
        Set-Content -NoNewline "$t/suid" -Value "#!/bin/sh`n"; chmod 04755 "$t/suid"
        Set-Content -NoNewline "$t/owned" -Value "owned`n"
        if ($script:IsRoot) { chown 1234:5678 "$t/owned" }
        chmod 0755 $t "$t/a" "$t/a/b" "$t/a/b/c" "$t/emptydir"
        Get-ChildItem -LiteralPath $t -Recurse -File | Where-Object { -not $_.LinkTarget -and $_.Name -notin 'private', 'suid' } | ForEach-Object { chmod 0644 $_.FullName }
        $t
    }
    function Get-VectorBytes([int] $N, [string] $Seed) {
        $s = [Text.Encoding]::ASCII.GetBytes($Seed)
        $out = [Collections.Generic.List[byte]]::new()
        for ($i = 0L; $out.Count -lt $N; $i++) { $out.AddRange([Security.Cryptography.SHA256]::HashData([byte[]]($s + [BitConverter]::GetBytes($i)))) }
        [byte[]]$out.GetRange(0, $N).ToArray()
    }

    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "daxfs-writer-$PID"
    New-Item -ItemType Directory $script:Work -Force | Out-Null
    $script:Basic = New-BasicTree $script:Work
}

AfterAll {
    Set-Location $HOME
    if ($script:Work -and (Test-Path $script:Work)) { Remove-Item -Recurse -Force $script:Work }
}

Describe 'New-DaxFsImage' {
    BeforeEach {
        $script:Out = Join-Path $script:Work ("out-" + [guid]::NewGuid().ToString('n').Substring(0, 8))
        New-Item -ItemType Directory $script:Out | Out-Null
    }

    It 'builds a <Mode> image that reads back as the vector listing' -ForEach @(
        @{ Mode = 'Static'; Extra = @{} }
        @{ Mode = 'Branching'; Extra = @{ Branching = $true } }
        @{ Mode = 'Split'; Extra = @{ BackingFile = 'SPLIT' } }
    ) {
        $dest = Join-Path $script:Out 'basic.daxfs'
        $extra = $Extra.Clone()
        $backing = if ($extra.ContainsKey('BackingFile')) { $extra['BackingFile'] = Join-Path $script:Out 'basic.data'; $extra['BackingFile'] } else { $null }
        $img = New-DaxFsImage -Path $script:Basic -Destination $dest @extra
        $img | Should -BeOfType DaxFs.DaxFsImage
        $img.Mode | Should -Be $Mode
        $img.Path | Should -Be $dest
        $img.InodeCount | Should -Be 18
        $listing = Get-ImageListing -Image $dest -BackingFile $backing
        $diff = Compare-VectorListing -Listing $listing -ExpectedJson (Join-Path $script:Vectors 'basic.expected.json') -IgnoreOwner:(-not $script:IsRoot)
        $diff | Should -BeNullOrEmpty
        Test-DaxFsImage $dest -BackingFile $backing | Should -BeTrue
    }

    It 'builds an image of 300 directories that shows two bookkeeping findings, not 600, and passes -Strict' {
        $tree = Join-Path $script:Out 'many'
        foreach ($i in 1..300) { New-Item -ItemType Directory -Force (Join-Path $tree ('d{0:000}/sub' -f ($i % 150))) | Out-Null }
        Set-Content (Join-Path $tree 'f') 'x'
        $dest = Join-Path $script:Out 'many.daxfs'
        New-DaxFsImage -Path $tree -Destination $dest | Out-Null
        $findings = @(Test-DaxFsImage $dest -Detailed)
        $findings.RuleId | Sort-Object | Should -Be @('NLINK-MISMATCH', 'NLINK-NOTFILE')
        $findings | ForEach-Object { $_.Bookkeeping | Should -BeTrue; $_.Count | Should -Be 301; $_.Inode | Should -Be 1 }
        $findings[0].Message | Should -Match 'inodes 1, 2, 3, 4, 5 and 296 more\.$'
        Test-DaxFsImage $dest -Strict | Should -BeTrue
        # A directory entry whose mode differs from its inode's is a warning, not bookkeeping: -Strict fails it.
        $bytes = [IO.File]::ReadAllBytes($dest)
        $base = [BitConverter]::ToInt64($bytes, 24)
        $rootData = $base + [BitConverter]::ToInt64($bytes, [int]($base + [BitConverter]::ToInt64($bytes, [int]$base + 24) + 24))
        [BitConverter]::GetBytes([uint32]0x8180).CopyTo($bytes, [int]$rootData + 4)
        [IO.File]::WriteAllBytes($dest, $bytes)
        Test-DaxFsImage $dest | Should -BeTrue
        Test-DaxFsImage $dest -Strict | Should -BeFalse
        (Test-DaxFsImage $dest -Detailed | Where-Object { -not $_.Bookkeeping }).RuleId | Should -Be 'DIRENT-MODE'
    }

    It 'writes DIRNAME.daxfs in the current location by default and takes the directory from the pipeline' {
        Push-Location $script:Out
        try {
            $img = Get-Item $script:Basic | New-DaxFsImage
            $img.Path | Should -Be (Join-Path $script:Out 'basic.daxfs')
            Test-Path (Join-Path $script:Out 'basic.daxfs') | Should -BeTrue
        } finally { Pop-Location }
    }

    It 'writes nothing with -WhatIf' {
        $dest = Join-Path $script:Out 'w.daxfs'
        New-DaxFsImage $script:Basic $dest -WhatIf | Should -BeNullOrEmpty
        Get-ChildItem $script:Out -Force | Should -BeNullOrEmpty
    }

    It 'keeps an existing image unless -Force, and replaces it with -Force' {
        $dest = Join-Path $script:Out 'x.daxfs'
        Set-Content $dest 'precious'
        New-DaxFsImage $script:Basic $dest -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'DaxFsBuild.DestinationExists,*'
        $e[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $e[0].TargetObject | Should -Be $dest
        $e[0].Exception.Message | Should -Match '-Force'
        Get-Content $dest | Should -Be 'precious'
        (New-DaxFsImage $script:Basic $dest -Force).InodeCount | Should -Be 18
    }

    It 'reports a missing source as ObjectNotFound' {
        New-DaxFsImage (Join-Path $script:Work 'nope') (Join-Path $script:Out 'n.daxfs') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'refuses a destination inside the source tree' {
        New-DaxFsImage $script:Basic (Join-Path $script:Basic 'a/in.daxfs') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'DaxFsBuild.DestinationInsideSource,*'
        Test-Path (Join-Path $script:Basic 'a/in.daxfs') | Should -BeFalse
    }

    It 'refuses -DeltaSize without -Branching' {
        New-DaxFsImage $script:Basic (Join-Path $script:Out 'd.daxfs') -DeltaSize 2MB -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'DeltaSizeWithoutBranching,*'
    }

    It 'sizes the delta region with -DeltaSize and warns when it cannot hold a branch' {
        $img = New-DaxFsImage $script:Basic (Join-Path $script:Out 'b.daxfs') -Branching -DeltaSize 1MB -WarningVariable w -WarningAction SilentlyContinue
        $img.DeltaRegionSize | Should -Be 1MB
        $w | Should -Match '1 MiB delta log'
        (New-DaxFsImage $script:Basic (Join-Path $script:Out 'c.daxfs') -Branching -DeltaSize 4MB -WarningVariable w2).DeltaRegionSize | Should -Be 4MB
        $w2 | Should -BeNullOrEmpty
    }

    It 'excludes by name and by path, records owners as root or as given' {
        $dest = Join-Path $script:Out 'e.daxfs'
        New-DaxFsImage $script:Basic $dest -Exclude 'hard*', '/a/b' -Owner Root -Gid 42 | Out-Null
        $items = Get-DaxFsItem $dest -Recurse
        $items.FullName | Should -Not -Contain '/hard1'
        $items.FullName | Should -Not -Contain '/a/hard2'
        $items.FullName | Should -Not -Contain '/a/b'
        $items.FullName | Should -Contain '/a/five000'
        $items | ForEach-Object { $_.Uid | Should -Be 0; $_.Gid | Should -Be 42 }
    }

    It 'fails listing FIFOs, or skips them with a warning under -SkipUnsupported' {
        $src = Join-Path $script:Out 'fifo-src'
        New-Item -ItemType Directory "$src/run" | Out-Null
        mkfifo "$src/run/pipe"
        Set-Content "$src/f" 'x'
        $dest = Join-Path $script:Out 'f.daxfs'
        New-DaxFsImage $src $dest -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'DaxFsBuild.UnsupportedFileType,*'
        $e[0].TargetObject | Should -Be 'run/pipe'
        Test-Path $dest | Should -BeFalse
        $img = New-DaxFsImage $src $dest -SkipUnsupported -WarningVariable w -WarningAction SilentlyContinue
        $img.InodeCount | Should -Be 3
        $w | Should -Match 'run/pipe'
    }

    It 'refuses an unreadable <What>, naming <Named>, and leaves neither image nor temp file' -ForEach @(
        @{ What = 'file'; Closed = @('etc/secret'); Named = 'it' }
        @{ What = 'directory'; Closed = @('closed'); Named = 'it' }
        @{ What = 'file and an unreadable directory'; Closed = @('etc/secret', 'closed'); Named = 'both' }
    ) {
        $src = Join-Path $script:Out 'src'
        New-Item -ItemType Directory "$src/etc", "$src/closed/inner" -Force | Out-Null
        Set-Content "$src/etc/secret" 'x'
        Set-Content "$src/etc/open" 'y'
        Set-Content "$src/closed/inner/deep" 'z'
        $dest = Join-Path $script:Out 'image/closed.daxfs'
        New-Item -ItemType Directory (Split-Path $dest) | Out-Null
        # What the check does; the same code runs in this process or in the child without CAP_DAC_OVERRIDE.
        $check = {
            param([string] $Source, [string] $Destination, [string[]] $Closed)
            $readable = foreach ($c in $Closed) {
                $p = Join-Path $Source $c
                try { if (Test-Path -LiteralPath $p -PathType Container) { [IO.Directory]::GetFileSystemEntries($p) | Out-Null } else { [IO.File]::OpenRead($p).Dispose() }; $c }
                catch { }
            }
            New-DaxFsImage -Path $Source -Destination $Destination -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
            [pscustomobject]@{
                StillReadable = @($readable)
                ErrorCount = $e.Count
                ErrorId = $e[0].FullyQualifiedErrorId
                Category = "$($e[0].CategoryInfo.Category)"
                Targets = @($e[0].TargetObject | ForEach-Object { "$_" })
                Message = $e[0].Exception.Message
                Left = @(Get-ChildItem -LiteralPath (Split-Path $Destination) -Force | ForEach-Object Name)
            }
        }
        foreach ($c in $Closed) { chmod 000 (Join-Path $src $c) }
        try {
            # Root reads everything unless it gives up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: it runs the check in a
            # child without them.
            $r = if ($script:IsRoot) { Invoke-WithoutDacOverride -ScriptBlock $check -ArgumentList $src, $dest, $Closed } else { & $check $src $dest $Closed }
        }
        finally { foreach ($c in $Closed) { chmod 755 (Join-Path $src $c) } }
        if ($r -is [string]) { Set-ItResult -Skipped -Because "as root, nothing is unreadable unless the capabilities are dropped, and $r"; return }

        $r.StillReadable | Should -BeNullOrEmpty -Because 'mode 000 must make the entries unreadable to the process that builds'
        $r.ErrorCount | Should -Be 1
        $r.ErrorId | Should -Be 'DaxFsBuild.Unreadable,DaxFs.Commands.NewDaxFsImageCommand'
        $r.Category | Should -Be 'PermissionDenied'
        $r.Targets.Count | Should -Be $Closed.Count
        foreach ($c in $Closed) {
            @($r.Targets | Where-Object { $_ -like "$c (*" }).Count | Should -Be 1 -Because "the error names '$c' (targets: $($r.Targets -join '; '))"
            $r.Message | Should -BeLike "*'$c (*"
        }
        $r.Targets | Where-Object { $_ -like 'closed/*' } | Should -BeNullOrEmpty -Because 'what is inside a closed folder cannot be named'
        $r.Left | Should -BeNullOrEmpty -Because 'neither the image nor its temporary file may be left behind'
    }

    It 'reports progress with entries and bytes' {
        $big = Join-Path $script:Out 'big-src'
        New-Item -ItemType Directory $big | Out-Null
        1..40 | ForEach-Object { [IO.File]::WriteAllBytes("$big/f$_", [byte[]]::new(2MB)) }
        $ps = [PowerShell]::Create()
        $null = $ps.AddScript('param($m, $s, $d) Import-Module $m; New-DaxFsImage -Path $s -Destination $d').
            AddArgument($env:DAXFS_MODULE_PATH).AddArgument($big).AddArgument((Join-Path $script:Out 'p.daxfs'))
        $null = $ps.Invoke()
        $ps.HadErrors | Should -BeFalse
        $records = @($ps.Streams.Progress | Where-Object Activity -like 'New-DaxFsImage*')
        $records.Count | Should -BeGreaterThan 1
        ($records | Where-Object StatusDescription -match '^\d+ of \d+ entries, .+ of .+$') | Should -Not -BeNullOrEmpty
        $records[-1].RecordType | Should -Be 'Completed'
        $ps.Dispose()
    }
}

Describe 'New-DaxFsImage stopped half-way' {
    It 'leaves no partial image and no temp file when stopped (Ctrl+C), and keeps the old image' {
        $src = Join-Path $script:Work 'stop-src'
        New-Item -ItemType Directory $src -Force | Out-Null
        1..300 | ForEach-Object { [IO.File]::WriteAllBytes("$src/f$_", [byte[]]::new(1MB)) }
        $outDir = Join-Path $script:Work 'stop-out'
        New-Item -ItemType Directory $outDir -Force | Out-Null
        $dest = Join-Path $outDir 'stop.daxfs'
        Set-Content $dest 'old image'
        $ps = [PowerShell]::Create()
        # One script, not a batch of statements: stopping a batch and disposing it races inside PowerShell itself.
        $null = $ps.AddScript('param($m, $s, $d) Import-Module $m; New-DaxFsImage -Path $s -Destination $d -Force').
            AddArgument($env:DAXFS_MODULE_PATH).AddArgument($src).AddArgument($dest)
        $async = $ps.BeginInvoke()
        # Stop once the build is writing (a temp file exists beside the destination).
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Get-ChildItem $outDir -Force -Filter '.stop.daxfs.*.tmp') -and -not $async.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 5 }
        $wasWriting = [bool](Get-ChildItem $outDir -Force -Filter '.stop.daxfs.*.tmp')
        $ps.Stop()
        $ps.Dispose()
        if (-not $wasWriting) { Set-ItResult -Inconclusive -Because 'the build finished before it could be stopped'; return }
        (Get-ChildItem $outDir -Force).Name | Should -Be 'stop.daxfs'
        Get-Content $dest | Should -Be 'old image'
    }
}

Describe 'New-DaxFsImage when the destination fails' {
    BeforeAll {
        $script:Mnt = Join-Path $script:Work 'mnt'
        New-Item -ItemType Directory $script:Mnt -Force | Out-Null
        $script:CanMount = $script:IsRoot -and ((mount -t tmpfs -o size=1m daxfs-test $script:Mnt 2>&1) -or $LASTEXITCODE -eq 0) -and $LASTEXITCODE -eq 0
        if ($script:CanMount) { umount $script:Mnt }
        $script:NoMountReason = if (-not $script:IsRoot) { 'mounting a tmpfs needs root' } else { 'this machine does not allow mounting a tmpfs' }
    }
    AfterEach { if ($script:CanMount) { umount $script:Mnt 2>$null } }

    It 'fails cleanly on a full disk, leaving neither image nor temp file, and keeps the old image' {
        if (-not $script:CanMount) { Set-ItResult -Skipped -Because $script:NoMountReason; return }
        mount -t tmpfs -o size=1m daxfs-test $script:Mnt
        $dest = Join-Path $script:Mnt 'big.daxfs'
        Set-Content $dest 'old image'
        $src = Join-Path $script:Work 'three-mb'
        New-Item -ItemType Directory $src -Force | Out-Null
        [IO.File]::WriteAllBytes("$src/blob", [byte[]]::new(3MB))
        New-DaxFsImage $src $dest -Force -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'DaxFsBuild.DiskFull,*'
        $e[0].Exception.Message | Should -Match 'free space'
        (Get-ChildItem $script:Mnt -Force).Name | Should -Be 'big.daxfs'
        Get-Content $dest | Should -Be 'old image'
    }

    It 'fails cleanly on a read-only destination folder' {
        if (-not $script:CanMount) { Set-ItResult -Skipped -Because $script:NoMountReason; return }
        mount -t tmpfs -o size=1m,ro daxfs-test $script:Mnt
        New-DaxFsImage $script:Basic (Join-Path $script:Mnt 'ro.daxfs') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'DaxFsBuild.WriteFailed,*'
        Get-ChildItem $script:Mnt -Force | Should -BeNullOrEmpty
    }
}

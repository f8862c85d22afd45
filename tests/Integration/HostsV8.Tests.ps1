# Format 8 on two kernels at once (the hosts boot; both guests run this file after their format-5 files, see
# Invoke-HostsBoot.ps1 and HostsV8.Host.ps1): each guest switches to the format-8 module and mounts one split image with
# an overlay read-write from the shared memory (guest A with the default mem_model, guest B with mem_model=cxl3); both
# write - different files, the same directory, the same file - and each checks, at once and after dropping its dentry and
# inode caches, what it sees of the other's writes. Then both unmount, guest B mounts the bytes afresh and writes the
# kernel's view for the host, which reads the memory file offline and compares (HostsV8.Host.ps1). What each step showed
# goes to results/hostsv8-ROLE.json and the host's report. Guest A is hosts-writer, B hosts-reader; they take turns
# through signal files (v8-ROLE-STEP) in the shared folder.

BeforeDiscovery {
    $script:NoV8 = -not (Test-Path -LiteralPath (Join-Path $env:DAXFS_HOSTS_DIR 'hostsv8.json'))
    $script:IsB = $env:DAXFS_HOSTS_ROLE -ne 'hosts-writer'
}

BeforeAll {
    . $PSScriptRoot/Hosts.Common.ps1
    . $PSScriptRoot/V8Images.ps1
    $script:V8 = $null
    if (Test-Path -LiteralPath (Join-Path $HostsDir 'hostsv8.json')) { $script:V8 = Get-Content -Raw (Join-Path $HostsDir 'hostsv8.json') | ConvertFrom-Json }
    $script:Role = if ($env:DAXFS_HOSTS_ROLE -eq 'hosts-writer') { 'A' } else { 'B' }
    $script:Other = if ($Role -eq 'A') { 'B' } else { 'A' }
    $script:M = New-MountPoint "hostsv8-$Role"
    $script:V8Measured = [ordered]@{ Role = $Role }
    function Step([string] $Name) { Send-Signal "v8-$Role-$Name" }
    # Waits for the other guest's step; throws at once when the other guest failed a test (v8-ROLE-failed), so that one
    # failure does not leave both guests waiting out every later turn.
    function Wait-Other([string] $Name, [int] $Seconds = 300) {
        $limit = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (Test-Path -LiteralPath (Join-Path $Sync "v8-$Other-$Name"))) {
            if (Test-Path -LiteralPath (Join-Path $Sync "v8-$Other-failed")) { throw "The other guest ($Other) failed a test before '$Name'." }
            if ([DateTime]::UtcNow -gt $limit) { throw "Waited $Seconds s for the other guest's step '$Name'." }
            Start-Sleep -Milliseconds 100
        }
    }
    # Runs one test's turn; a failure is signalled to the other guest and the host (v8-ROLE-failed) before it is reported.
    function Invoke-Turn([scriptblock] $Turn) {
        try { . $Turn }
        catch { Step 'failed'; throw }
    }
    # Drops this kernel's dentry and inode caches (what a remount would also drop).
    function Clear-KernelCache { Invoke-Tool sh @('-c', 'sync; echo 3 > /proc/sys/vm/drop_caches') | Out-Null }
    function Invoke-Bash([string] $Script) { Invoke-Tool bash @('-c', $Script) }
    function Get-Text([string] $Path) { if (Test-Path -LiteralPath $Path) { [IO.File]::ReadAllText($Path) } else { $null } }
    function Switch-Module([string] $Path) {
        Invoke-Tool busybox @('rmmod', 'daxfs') | Out-Null
        Invoke-Tool busybox @('insmod', $Path) | Out-Null
    }
    if ($V8) {
        Switch-Module $V8.Module8
        $script:Phys8 = $Phys + [uint64]$V8.Offset
    }
}

AfterAll {
    if ($V8) {
        Clear-Mount $M
        # The fleet runbook that follows mounts a format-5 image: back to the format-5 module.
        Switch-Module $V8.Module5
        [pscustomobject]$V8Measured | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $Data "results/hostsv8-$Role.json")
    }
}

Describe 'Two kernels writing one format-8 overlay' -Skip:$NoV8 {
    It 'both mount the image read-write from the shared memory (A: mem_model default, B: cxl3)' { Invoke-Turn {
        $p = @{ PhysicalAddress = $Phys8; Size = [uint64]$V8.Size; BackingFile = $V8.Backing; MountPoint = $M; Confirm = $false }
        if ($Role -eq 'B') { $p.MemoryModel = 'Cxl3' }
        $m = Mount-DaxFs @p
        $V8Measured.Options = (Get-Content /proc/mounts | Where-Object { ($_ -split ' ')[1] -eq $M }) -replace '^\S+ \S+ \S+ ', ''
        $m.ReadOnly | Should -BeFalse
        # (/proc/mounts does not show mem_model: cxl3 runs the same code as coherent in this module.)
        $V8Measured.Options | Should -Match 'overlay'
        $V8Measured.MemoryModel = $(if ($Role -eq 'B') { 'cxl3' } else { 'default (coherent)' })
        Step 'mounted'
        Wait-Other 'mounted' 1200
        # B looks up a name before A creates it (a negative dentry), and caches two base files A changes.
        if ($Role -eq 'B') {
            Test-Path -LiteralPath (Join-Path $M 'late.txt') | Should -BeFalse
            Test-Path -LiteralPath (Join-Path $M 'clash.txt') | Should -BeFalse
            Get-Text (Join-Path $M 'a.txt') | Should -Be "base a`n"
            Step 'primed'
        }
        else {
            $null = Get-Item -LiteralPath (Join-Path $M 'b.txt')
            Wait-Other 'primed'
        }
    } }

    It 'each sees the files and directories the other creates and changes at once' { Invoke-Turn {
        if ($Role -eq 'A') {
            Invoke-Bash "echo 'from A' > $M/a-new.txt; mkdir $M/adir; echo x > $M/adir/x.txt; echo late > $M/late.txt; echo 'from A' > $M/clash.txt; printf AAAA | dd of=$M/a.txt conv=notrunc status=none; mv $M/b.txt $M/b-ren.txt; echo A-app >> $M/dir/c.txt" | Out-Null
            Step 'wrote'
            Wait-Other 'wrote'
            $V8Measured.SeesOther = [ordered]@{ BNew = Get-Text "$M/b-new.txt"; YInMyDir = Get-Text "$M/adir/y.txt"; Listing = @(Invoke-Bash "ls -1 $M") }
            $V8Measured.SeesOther.BNew | Should -Be "from B`n"
            $V8Measured.SeesOther.YInMyDir | Should -Be "y`n"
            @(Get-ChildItem -LiteralPath "$M/adir" -Name | Sort-Object) | Should -Be 'x.txt', 'y.txt'
        }
        else {
            Wait-Other 'wrote'
            $V8Measured.SeesOther = [ordered]@{ ANew = Get-Text "$M/a-new.txt"; AChangedBase = Get-Text "$M/a.txt"; BRenamed = (Test-Path "$M/b.txt"), (Test-Path "$M/b-ren.txt"); Listing = @(Invoke-Bash "ls -1 $M")
                BaseAppendSize = (Get-Item -LiteralPath "$M/dir/c.txt").Length }
            $V8Measured.SeesOther.ANew | Should -Be "from A`n"
            $V8Measured.SeesOther.AChangedBase | Should -Be "AAAA a`n" -Because 'a write to a cached base file shows through the shared overlay page'
            $V8Measured.SeesOther.BRenamed | Should -Be $false, $true
            @(Get-ChildItem -LiteralPath "$M/adir" -Name) | Should -Be 'x.txt'
            Invoke-Bash "echo 'from B' > $M/b-new.txt; echo y > $M/adir/y.txt; mkdir $M/bdir; rmdir $M/bdir; echo B-app >> $M/dir/c.txt" | Out-Null
            Step 'wrote'
            # A base file has no inode entry in the overlay, so A's append stored no size: B sees the base size, and its
            # own append lands where A's did.
            $V8Measured.SeesOther.BaseAppendSize | Should -Be 7
        }
    } }

    It 'an exclusive create on the kernel that cached the name as free takes the name over from the other kernel''s file' { Invoke-Turn {
        # B looked clash.txt up before A made it: its cache says the name is free, so O_EXCL creates without asking the
        # overlay, and the module points the existing name at B's new inode (a lost race adopts the name, never EEXIST).
        if ($Role -eq 'B') {
            $out = Invoke-Bash "set -C; if echo 'from B' > $M/clash.txt; then echo created; else echo refused; fi"
            $V8Measured.ExclusiveCreateOverOther = "$($out | Select-Object -Last 1)"
            Step 'clashed'
            $V8Measured.ExclusiveCreateOverOther | Should -Be 'created'
        }
        else {
            Wait-Other 'clashed'
            $before = Get-Text "$M/clash.txt"
            Clear-KernelCache
            $after = Get-Text "$M/clash.txt"
            $V8Measured.NameTakenOver = [ordered]@{ BeforeDrop = $before; AfterDrop = $after }
            $after | Should -Be "from B`n" -Because 'the name now leads to the other kernel''s inode; this kernel''s file is left without a name'
        }
    } }

    It 'a name this kernel looked up before the other created it stays hidden from lookups until the dentry cache is dropped (guest B)' -Skip:(-not $IsB) { Invoke-Turn {
        # (ls, not Get-ChildItem: .NET's enumeration drops a listed name whose stat fails, as if it had just been deleted.)
        $listed = @(Invoke-Bash "ls -1 $M") -contains 'late.txt'
        $before = Test-Path -LiteralPath "$M/late.txt"
        Clear-KernelCache
        $after = Get-Text "$M/late.txt"
        $V8Measured.NegativeDentry = [ordered]@{ ListedByReaddir = $listed; LookupBeforeDrop = $before; ContentAfterDrop = $after }
        $listed | Should -BeTrue -Because 'readdir walks the shared directory list every time'
        $after | Should -Be "late`n"
    } }

    It 'a removal or rename by the other kernel shows here once this kernel drops its dentry cache' { Invoke-Turn {
        if ($Role -eq 'A') {
            # A holds dentries of a-new.txt and late.txt (it made them); B removes one and renames the other.
            $null = Get-Item "$M/a-new.txt", "$M/late.txt"
            Step 'cached'
            Wait-Other 'removed'
            $before = [ordered]@{ ANew = Test-Path "$M/a-new.txt"; Late = Test-Path "$M/late.txt"; Moved = Test-Path "$M/adir/late-moved.txt" }
            Clear-KernelCache
            $after = [ordered]@{ ANew = Test-Path "$M/a-new.txt"; Late = Test-Path "$M/late.txt"; Moved = Get-Text "$M/adir/late-moved.txt" }
            $V8Measured.RemovedByOther = [ordered]@{ BeforeDrop = $before; AfterDrop = $after }
            $after.ANew | Should -BeFalse
            $after.Late | Should -BeFalse
            $after.Moved | Should -Be "late`n"
        }
        else {
            Wait-Other 'cached'
            Invoke-Bash "rm $M/a-new.txt; mv $M/late.txt $M/adir/late-moved.txt" | Out-Null
            Step 'removed'
        }
    } }

    It 'appends: through a fresh open each kernel appends after the other; through a descriptor held open across the other''s append it can write over it' { Invoke-Turn {
        # Each step in one bash (O_APPEND through >>), in turn through the signal files. A's script ends with a wait:
        # a wait loop whose body ran ends with the status of its last test (1), hence the explicit exit 0.
        $s = "$Sync"; $f = "$M/app.log"
        $w = { param($n) "t=0; while [ ! -e $s/v8-$Other-$n ]; do [ -e $s/v8-$Other-failed ] && exit 4; sleep 0.05; t=`$((t+1)); [ `$t -gt 6000 ] && exit 3; done" }
        if ($Role -eq 'A') {
            Invoke-Bash (": > $f; touch $s/v8-A-app0; " + (& $w 'app0') + "; exec 3>>$f; touch $s/v8-A-open; " + (& $w 'open') +
                "; echo A1 >&3; touch $s/v8-A-app1; " + (& $w 'app1') + "; echo A2 >&3; touch $s/v8-A-app2; " + (& $w 'app2') +
                "; exec 3>&-; echo A3 >> $f; touch $s/v8-A-app3; " + (& $w 'app3') + "; exit 0") | Out-Null
        }
        else {
            Invoke-Bash ((& $w 'app0') + "; touch $s/v8-B-app0; exec 3>>$f; " + (& $w 'open') + "; touch $s/v8-B-open; " + (& $w 'app1') +
                "; echo B1 >&3; touch $s/v8-B-app1; " + (& $w 'app2') + "; echo B2 >&3; touch $s/v8-B-app2; exec 3>&-; " + (& $w 'app3') +
                "; echo B3 >> $f; touch $s/v8-B-app3") | Out-Null
            Step 'appended'
        }
        if ($Role -eq 'A') { Wait-Other 'appended' }
        $V8Measured.Appends = Get-Text $f
        # Held descriptors: each kernel's append position is its own cached size, refreshed only at open and stat, so an
        # append can land on the other kernel's (measured: A1 and A2 lost in one run, B1 in another); appends through a
        # fresh open (A3, B3) follow each other.
        $V8Measured.AppendsLost = @('A1', 'B1', 'A2', 'B2' | Where-Object { $V8Measured.Appends -notmatch "(?m)^$_$" })
        $V8Measured.Appends | Should -Match "A3`nB3`n$"
    } }
}

Describe 'Two kernels writing the same names and the same file at once' -Skip:$NoV8 {
    It 'creates 30 names and directories on both kernels at once, and writes 256 KiB blocks to one file from both' { Invoke-Turn {
        if ($Role -eq 'A') {
            Invoke-Bash "mkdir $M/race; head -c 262144 /dev/zero > $M/same.bin" | Out-Null
            Step 'race0'
        }
        else { Wait-Other 'race0' }
        Invoke-Bash "head -c 262144 /dev/zero | tr '\0' $Role > /tmp/pattern-$Role" | Out-Null
        Step 'ready'
        Wait-Other 'ready'
        # The same names from both kernels, then 10 whole-file writes each while this kernel reads the file back between
        # them: a read that holds both letters saw the other kernel's write half done.
        # A goes up and B down through the names, so that they meet on some at the same moment; noclobber makes each
        # create exclusive (O_EXCL), so the two counts of creates that succeeded add up to 60 only if no name was made twice.
        # (Thirty names and ten writes each: a fork takes up to a second in the emulated guests of a loaded machine.)
        $order = if ($Role -eq 'A') { 'seq 0 29' } else { 'seq 29 -1 0' }
        $out = Invoke-Bash ("set -C; made=0; for i in `$($order); do { echo $Role > $M/race/f`$i; } 2>/dev/null && made=`$((made+1)); mkdir $M/race/d`$i 2>/dev/null && made=`$((made+1)); done; echo `$made > $Sync/v8-$Role-made; " +
            "t=0; while [ ! -e $Sync/v8-$Other-made ]; do [ -e $Sync/v8-$Other-failed ] && exit 4; sleep 0.05; t=`$((t+1)); [ `$t -gt 12000 ] && exit 3; done; " +
            "(for i in `$(seq 1 10); do dd if=/tmp/pattern-$Role of=$M/same.bin bs=256k count=1 conv=notrunc status=none; done) & w=`$!; " +
            "reads=0; mixed=0; while kill -0 `$w 2>/dev/null; do a=`$(tr -cd A < $M/same.bin | wc -c); b=`$(tr -cd B < $M/same.bin | wc -c); " +
            "reads=`$((reads+1)); [ `$a -gt 0 ] && [ `$b -gt 0 ] && mixed=`$((mixed+1)); done; wait `$w; echo `$reads `$mixed")
        $reads, $mixed = ("$($out | Select-Object -Last 1)" -split ' ') | ForEach-Object { [int]$_ }
        $made = [int](Get-Content (Join-Path $Sync "v8-$Role-made"))
        Step 'raced'
        Wait-Other 'raced'
        Clear-KernelCache
        $names = @(Get-ChildItem -LiteralPath "$M/race" -Name)
        $files = @($names | Where-Object { $_ -like 'f*' })
        $content = @($files | Sort-Object -Unique | ForEach-Object { (Get-Text "$M/race/$_") }) | Group-Object | ForEach-Object { "$($_.Name.Trim())=$($_.Count)" }
        $bytes = [IO.File]::ReadAllBytes("$M/same.bin")
        $pages = foreach ($p in 0..63) { $s = [Text.Encoding]::ASCII.GetString($bytes, $p * 4096, 4096); $a = 4096 - $s.Replace('A', '').Length; $b = 4096 - $s.Replace('B', '').Length; if ($a -eq 4096) { 'A' } elseif ($b -eq 4096) { 'B' } else { 'mixed' } }
        $V8Measured.Race = [ordered]@{
            MadeHere = $made; MadeThere = [int](Get-Content (Join-Path $Sync "v8-$Other-made")); Duplicates = @($names | Group-Object | Where-Object Count -gt 1 | ForEach-Object Name)
            Names = $names.Count; DistinctNames = @($names | Sort-Object -Unique).Count; FilesListed = $files.Count; DirectoriesListed = @($names | Where-Object { $_ -like 'd*' }).Count
            FileContent = $content; ReadsWhileWriting = $reads; MixedReads = $mixed; SameBinSize = $bytes.Length
            Pages = ($pages | Group-Object | ForEach-Object { "$($_.Name)=$($_.Count)" }) -join ' '
        }
        @($names | Sort-Object -Unique).Count | Should -Be 60 -Because 'every name made on either kernel is there'
        @($files | Sort-Object -Unique | Where-Object { -not (Test-Path -LiteralPath "$M/race/$_") }).Count | Should -Be 0 -Because 'every listed name resolves'
        $bytes.Length | Should -Be 262144
        @($pages | Where-Object { $_ -eq 'mixed' }).Count | Should -Be 0 -Because 'a page holds one writer''s bytes once both are done'
    } }
}

Describe 'What a fresh mount and the memory show after both kernels unmount' -Skip:$NoV8 {
    It 'unmounts on both kernels; B mounts the bytes afresh and writes the kernel''s view for the host' { Invoke-Turn {
        Dismount-DaxFs -MountPoint $M -Confirm:$false
        Step 'unmounted'
        if ($Role -eq 'B') {
            Wait-Other 'unmounted'
            Mount-DaxFs -PhysicalAddress $Phys8 -Size ([uint64]$V8.Size) -BackingFile $V8.Backing -MountPoint $M -Confirm:$false | Out-Null
            try {
                $view = @((Get-KernelView $M).Display)
                $view | Set-Content (Join-Path $HostsDir 'hostsv8-fresh.txt')
                Step 'fresh'
                $V8Measured.Fresh = [ordered]@{ Lines = $view.Count; Appends = Get-Text "$M/app.log"; BaseA = Get-Text "$M/a.txt"; Listing = [string[]]@(Get-ChildItem -LiteralPath $M -Name) }
                [Array]::Sort($V8Measured.Fresh.Listing, [StringComparer]::Ordinal)
                $V8Measured.Fresh.Appends | Should -Match "A3`nB3`n$"
                $V8Measured.Fresh.Listing | Should -Be 'a.txt', 'adir', 'app.log', 'b-new.txt', 'b-ren.txt', 'big.bin', 'clash.txt', 'dir', 'race', 'same.bin'
            }
            finally { Dismount-DaxFs -MountPoint $M -Confirm:$false }
        }
    } }
}
